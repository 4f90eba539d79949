"""Where the test data lives: the golden vectors in the repository, the licensed reference data beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO_ROOT / "tests" / "data" / "golden"
"""The golden reference vectors, copied from ``../shared/golden`` (synthetic, freely redistributable)."""
SHARED = Path(os.environ.get("QC_SHARED_DIR", REPO_ROOT.parent / "shared"))
REFDATA_DIR = SHARED / "refdata"
"""Reference data whose licences forbid copying it here (the interop exports, BSDS500): read in place."""


def load_golden(name: str) -> dict[str, Any]:
    """Load ``tests/data/golden/<name>`` (part of the repository: a missing file is an error, never a skip)."""
    with (GOLDEN_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def golden_cases(name: str) -> list[Any]:
    """pytest params, one per golden case (id = the case id)."""
    return [pytest.param(case, id=case["id"]) for case in load_golden(name)["cases"]]
