"""The example scripts shipped in `scripts/`, pinned by their SHA-256.

Pure: no Django imports. At the first start the created administrator
approves these files (`services.approval.scripts_approve_bundled`), but only
while a file still has the hash listed here, so content a user edited is never
approved on anyone's behalf. A test checks this list against `scripts/`.
"""

from __future__ import annotations

BUNDLED_SCRIPT_SHA256: dict[str, str] = {
    "api_fetch.py": (
        "a57c8926c7ee83e9725ebf05d5a1e303f6b5fc0665baefb2a103858e29940520"
    ),
    "db_backup.py": (
        "4548facfba32e422dd8b8f3c65795288cd1a6f2172ed682ad92a0456704e66c9"
    ),
    "disk_report.sh": (
        "adb0a3b9bbaeade7aee1fb19d81600fa4ca3f531c8aaae9db3fa1fe2770a7f85"
    ),
    "fail_with_code.py": (
        "e7499d65ea8e9730b5ef52e1aa4f683f2c621d8fbc01a8e1980907e0c5a62067"
    ),
    "file_cleanup.py": (
        "fd8413317203f7ded199c0a389576bfabde7fb65c3bc8c5e0ea92f209a7bfb13"
    ),
    "hello.py": ("fcc1d5928a9394f15ef78b18bc9de516924e032fd7a770a50f0826be1db1d727"),
    "long_task.py": (
        "08211048bd16dcc89957f68eae5f60eb7ad2e646376f2ee1895f0ca4a17e1f4e"
    ),
    "report_generate.py": (
        "ffef44813efa9e02fa0bfac32b5f7e2a453155d244370816775af1f42405452d"
    ),
}
