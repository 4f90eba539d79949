"""Shared fixtures: the golden reference files and a clean Prefect/env setup."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("QC_SHARED_DIR", REPO_ROOT.parent / "shared"))
GOLDEN_DIR = SHARED / "golden"
REFDATA_DIR = SHARED / "refdata"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def load_golden(name: str) -> dict[str, Any]:
    """Load ``../shared/golden/<name>``; skip (with the reason) when the folder is absent."""
    path = GOLDEN_DIR / name
    if not path.exists():
        pytest.skip(f"golden file {path} is absent: set QC_SHARED_DIR to the folder holding golden/")
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def golden_cases(name: str) -> list[Any]:
    """pytest params, one per golden case (id = the case id); empty when the file is absent."""
    path = GOLDEN_DIR / name
    if not path.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"golden file {path} is absent"))]
    with path.open(encoding="utf-8") as handle:
        cases = json.load(handle)["cases"]
    return [pytest.param(case, id=case["id"]) for case in cases]
