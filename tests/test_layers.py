"""Layers point one way: the pure core loads neither the store, the web page, the command line,
Prefect, FastAPI nor SQLModel / SQLAlchemy (DESIGN §3)."""

from __future__ import annotations

import json
import subprocess
import sys

CORE = [
    "qc.core",
    "qc.errors",
    "qc.masks",
    "qc.match",
    "qc.metrics",
    "qc.consensus",
    "qc.agreement",
    "qc.flags",
    "qc.routing",
    "qc.guideline",
    "qc.checks",
    "qc.formats",
    "qc.automation",
]
FORBIDDEN = ["qc.store", "qc.web", "qc.cli", "prefect", "fastapi", "sqlmodel", "sqlalchemy", "flows"]


def test_core_modules_do_not_import_orchestration_or_storage() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in forbidden))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
