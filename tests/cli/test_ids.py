"""Ids no row can have (issue 13 item 12): "no such round/item" in one line, exit 1, on SQLite and PostgreSQL.

Beyond the database's integer range (64-bit on SQLite, 32-bit on PostgreSQL) the driver used to
fail with a traceback (SQLite ``OverflowError``, PostgreSQL "integer out of range").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bench.review_data import build_round
from qc.cli import app

runner = CliRunner()
HUGE = "99999999999999999999"  # beyond 64 bits
BEYOND_INT32 = str(2**31)  # a valid id on SQLite, out of range on PostgreSQL


@pytest.mark.parametrize("number", [HUGE, BEYOND_INT32, "-7", "0"])
def test_an_id_no_row_can_have_is_not_found(review_engine: Engine, tmp_path: Path, number: str) -> None:
    build_round(review_engine, images=1)
    url = review_engine.url.render_as_string(hide_password=False)
    commands = {
        "round": ["round", "status", "--db", url, "--", number],
        "review_item": ["review", "decide", "--as", "rev1", "--accept-consensus", "--db", url, "--", number],
        "export": ["export", "--round", number, "-o", str(tmp_path / "x.json"), "--db", url],
        "tool export": ["export", "--round", number, "--format", "coco", "-o", str(tmp_path / "y.json"), "--db", url],
        "report": ["report", "--round", number, "-o", str(tmp_path / "r.html"), "--db", url],
    }
    for what, args in commands.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (what, result.output, result.exception)
        table = "review_item" if what == "review_item" else "round"
        wanted = f"error: field 'round': no round {number};" if what == "report" else f"no {table} with id {number};"
        assert result.output.startswith("error: ") and wanted in result.output, what
        assert result.output.count("\n") == 1, result.output
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()
