"""The assembled app: every command group is listed, `python -m qc.cli` runs it, only `qc/cli/` imports flows."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qc.cli import app

QC = Path(__file__).resolve().parents[2] / "qc"
COMMANDS = [
    "init",
    "export",
    "demo",
    "db",
    "connect",
    "images",
    "person",
    "round",
    "report",
    "review",
    "server",
    "schedule",
]


def test_help_lists_every_command_group() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    commands = result.output.split("Commands", 1)[1]
    assert re.findall(r"^│ (\w+) ", commands, flags=re.MULTILINE) == COMMANDS


@pytest.mark.parametrize("group", ["db", "connect", "images", "person", "round", "review", "server", "schedule"])
def test_each_group_answers_help(group: str) -> None:
    result = CliRunner().invoke(app, [group, "--help"])
    assert result.exit_code == 0 and f"qc {group}" in result.output


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_command_line_imports_flows() -> None:
    offenders = {
        str(path.relative_to(QC.parent)): sorted(n for n in imported_modules(path) if n.split(".")[0] == "flows")
        for path in QC.rglob("*.py")
        if QC / "cli" not in path.parents
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert "flows.round" in imported_modules(QC / "cli" / "round.py")  # the scan does see lazy imports


def test_importing_the_app_loads_neither_flows_nor_prefect() -> None:
    code = "import sys, qc.cli; print(sorted({m.split('.')[0] for m in sys.modules} & {'flows', 'prefect'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m_runs_the_same_app() -> None:
    out = subprocess.run([sys.executable, "-m", "qc.cli", "review", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "serve" in out.stdout and "decide" in out.stdout
