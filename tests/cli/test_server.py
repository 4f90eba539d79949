"""``qc server stop|status`` with no server recorded (starting one is ``tests/flows/test_server.py``'s)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from qc.cli import app


def test_status_and_stop_without_a_recorded_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    runner = CliRunner()
    status = runner.invoke(app, ["server", "status", "--db", url])
    assert status.exit_code == 1 and f"no qc server recorded in {tmp_path / '.qc-server'}" in status.output
    stop = runner.invoke(app, ["server", "stop", "--db", url])
    assert stop.exit_code == 0 and stop.output == "no qc server recorded\n"
