"""The web and review rooms hold no SQL: no select/insert/update/delete call, no session query, no SQL import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import qc.review
import qc.web

ROOMS = [Path(qc.web.__file__).parent, Path(qc.review.__file__).parent]
SQL_CALLS = {"select", "insert", "update", "delete", "execute", "scalars", "scalar", "exec"}


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("room", ROOMS, ids=["qc.web", "qc.review"])
def test_no_sql_in_the_room(room: Path) -> None:
    modules = sorted(room.rglob("*.py"))
    assert len(modules) >= 5
    for path in modules:
        tree = ast.parse(path.read_text(), filename=str(path))
        assert not _calls(tree) & SQL_CALLS, f"{path}: SQL belongs in qc/store/review.py"
        assert not {i for i in _imports(tree) if i.endswith((".select", ".insert", ".update", ".delete"))}, path
