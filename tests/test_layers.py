"""Layers point one way (DESIGN §3): the pure core loads neither the store, the web page, the command line,
Prefect, FastAPI nor SQLModel / SQLAlchemy; and no module outside qc/store holds SQL."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

CORE = [
    "qc.core",
    "qc.errors",
    "qc.masks",
    "qc.match",
    "qc.metrics",
    "qc.consensus",
    "qc.fusion",
    "qc.reliability",
    "qc.routing_policy",
    "qc.agreement",
    "qc.flags",
    "qc.routing",
    "qc.guideline",
    "qc.checks",
    "qc.formats",
    "qc.automation",
    "qc.disputes",
]
REPO = Path(__file__).resolve().parent.parent
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


SQL_VERBS = {"select", "insert", "update", "delete"}
SQL_MODULES = {"sqlalchemy", "sqlmodel", "sa"}
PRODUCT = ("qc", "flows", "reports")


def _sql_uses(path: Path) -> list[str]:
    """``select(`` / ``insert(`` / ``update(`` / ``delete(`` called by name, or imported from SQLAlchemy/SQLModel."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SQL_VERBS:
            found.append(f"{path}:{node.lineno}: {node.func.id}(")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in SQL_MODULES:
            found += [f"{path}:{node.lineno}: import {a.name}" for a in node.names if a.name in SQL_VERBS]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_VERBS:
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in SQL_MODULES:
                found.append(f"{path}:{node.lineno}: {owner.id}.{node.func.attr}(")
    return found


def test_no_sql_outside_the_store() -> None:
    """SQL lives only in qc/store (DESIGN §3): every other module of qc, flows and reports calls store functions."""
    modules = [p for room in PRODUCT for p in sorted((REPO / room).rglob("*.py"))]
    outside = [p for p in modules if (REPO / "qc" / "store") not in p.parents]
    assert len(outside) > 80
    assert [use for path in outside for use in _sql_uses(path)] == []


def test_the_sql_scan_sees_sql() -> None:
    """The scan above finds each form it looks for (so an empty result means something)."""
    sample = REPO / "qc" / "store" / "review.py"
    assert any("update(" in use for use in _sql_uses(sample))
    assert any("import select" in use for use in _sql_uses(sample))
