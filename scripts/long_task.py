"""Example job: work for a while (SECONDS env or first argument, default 30)."""

import os
import sys
import time

seconds = float(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SECONDS", "30"))
started = time.monotonic()
tick = 0
while time.monotonic() - started < seconds:
    tick += 1
    print(f"working... {tick}s elapsed", flush=True)
    time.sleep(1)
print("done", flush=True)
