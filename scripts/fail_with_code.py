"""Example job: fail like a broken export would, with exit code 2."""

import sys

print("connecting to the reporting database...", flush=True)
print("error: table 'sales_daily' not found", file=sys.stderr, flush=True)
sys.exit(2)
