"""Example job: greet, report progress on stdout and stderr, exit 0."""

import os
import sys
import time

name = os.environ.get("JOB_NAME", "hello")
print(f"Hello from {name}, run {os.environ.get('JOB_RUN_ID', '-')}", flush=True)
for step in range(1, 4):
    print(f"step {step}/3 done", flush=True)
    print(f"progress: {step * 33}%", file=sys.stderr, flush=True)
    time.sleep(0.1)
print("finished", flush=True)
