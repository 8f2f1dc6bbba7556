"""Example job (template "API data fetch"): fetch JSON from a URL into a file.

Usage: api_fetch.py URL OUTPUT [TIMEOUT_SECONDS]

GETs URL (http or https only), checks the answer is JSON and writes it to
OUTPUT (folders created), pretty-printed. Exit 0 on success; 1 with a
message on a bad URL, a network error, an HTTP error or a non-JSON answer.
"""

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit


def main(argv: list[str]) -> int:
    """Fetch, check, write."""
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    url, output = argv[0], Path(argv[1])
    timeout = float(argv[2]) if len(argv) == 3 else 30.0
    if urlsplit(url).scheme not in ("http", "https"):
        print(f"Not an http(s) URL: {url}", file=sys.stderr)
        return 1
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            data = json.loads(answer.read().decode("utf-8"))
    except urllib.error.URLError as exc:
        print(f"Fetching {url} failed: {exc}", file=sys.stderr)
        return 1
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"{url} did not answer JSON: {exc}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    count = len(data) if isinstance(data, list | dict) else 1
    print(f"fetched {count} item(s) from {url} into {output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
