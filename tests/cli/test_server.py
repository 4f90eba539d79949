"""``qc server stop|status`` with no server recorded (starting one is ``tests/flows/test_server.py``'s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qc.cli import app


def test_status_and_stop_without_a_recorded_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    runner = CliRunner()
    status = runner.invoke(app, ["server", "status", "--db", url])
    assert status.exit_code == 1 and f"no qc server recorded in {tmp_path / '.qc-server'}" in status.output
    stop = runner.invoke(app, ["server", "stop", "--db", url])
    assert stop.exit_code == 0 and stop.output == "no qc server recorded\n"


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        (["review", "serve"], "--port", "-1"),
        (["review", "serve"], "--port", "65536"),
        (["server", "start", "--no-web"], "--prefect-port", "70000"),
        (["server", "start"], "--web-port", "0"),
    ],
)
def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path, command: list[str], option: str, value: str) -> None:
    """Refused before anything starts (``review serve --port -1`` was an OverflowError traceback from bind, and
    ``server start --prefect-port 70000`` a Prefect server that died showing its traceback)."""
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    answer = CliRunner().invoke(app, [*command, option, value, "--db", url])
    assert answer.exit_code == 2, answer.output
    text = " ".join(answer.output.replace("│", " ").split())
    assert f"Invalid value for '{option}': Input should be" in text, answer.output
    assert not (tmp_path / ".qc-server").exists()
