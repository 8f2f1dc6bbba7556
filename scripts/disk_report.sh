#!/usr/bin/env bash
# Example job: report disk and memory use of this host; exit 0.
set -euo pipefail
echo "Disk usage on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
df -h / | tail -n +1
echo
echo "Memory:"
free -m 2>/dev/null || cat /proc/meminfo | head -3
