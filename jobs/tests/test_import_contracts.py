"""The layer and app boundaries hold: the import-linter contracts in pyproject.

The test runs the same check as `lint-imports` in CI; on failure its
output names each broken contract and the chain of imports that breaks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter import configuration
from importlinter.application import use_cases

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
CONTRACTS = (
    "Services, selectors, models and pure modules do not import an interface",
    "The job API and the job admin do not import each other",
    "accounts is a leaf app: it imports nothing from jobs",
)


def test_every_import_contract_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    """No forbidden import (nor a chain to one); every contract was checked."""
    configuration.configure()
    is_kept = use_cases.lint_imports(
        config_filename=str(PYPROJECT), cache_dir=None, no_logo=True
    )

    report = capsys.readouterr().out
    assert is_kept is True, report
    for name in CONTRACTS:
        assert f"{name} KEPT" in report
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in report
