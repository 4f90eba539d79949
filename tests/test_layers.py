"""Layers point one way: the metric core loads neither Prefect, SQLModel nor FastAPI."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "qc.masks",
    "qc.metrics",
    "qc.match",
    "qc.consensus",
    "qc.errors",
    "qc.agreement",
    "qc.flags",
    "qc.routing",
    "qc.guideline",
    "qc.checks",
    "qc.formats",
]
FORBIDDEN = ["prefect", "sqlmodel", "fastapi", "sqlalchemy", "flows"]


def test_core_modules_do_not_import_orchestration_or_storage() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
