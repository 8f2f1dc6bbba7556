"""The example's job script: greet whoever the arguments name."""

import sys

who = " ".join(sys.argv[1:]) or "world"
sys.stdout.write(f"hello from the host project, {who}\n")
