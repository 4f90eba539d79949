"""A failing flow command prints its ``error:`` line, not Prefect's logs (issue 13 item 5, the output part).

Through the real command line in a subprocess, with Prefect's home beside the database as
``qc`` sets it: Prefect's logs and tracebacks (70-80 lines for a failing ingest) go to
``.prefect/qc.log``; the terminal gets the error line and where that log is. A delivery with a
truncated file and a file whose name is not UTF-8 stores what it can and prints one ``refused:``
line per file, naming it and saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.support.rounds import deliver_all, engine, setup_round

__all__ = ["engine"]


pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def api(prefect_harness: str) -> str:
    """The commands report to the run's shared Prefect server (``$PREFECT_API_URL``, as a team sets it)."""
    return prefect_harness


def _qc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_HOME"}  # qc puts it beside the database
    env["COLUMNS"] = "300"  # one line per message, whatever the terminal
    command = [sys.executable, "-m", "qc.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_failing_ingest_prints_the_error_line_and_where_the_log_is(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    setup_round(engine)
    (tmp_path / "delivery").mkdir()
    result = _qc("round", "ingest", "99", str(tmp_path / "delivery"), "--db", url, cwd=tmp_path)
    log = tmp_path / ".prefect" / "qc.log"
    assert result.returncode == 1
    assert (result.stdout + result.stderr).splitlines() == [
        "error: field 'round.id': no round with id 99; check the id (list them first)",
        f"(Prefect's log of the run: {log})",
    ]
    logged = log.read_text()
    assert "Traceback" in logged and "Task run failed with exception: NotFoundError" in logged


def test_refused_files_are_named_with_their_reason(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    round_id, image_ids = setup_round(engine)
    delivery = tmp_path / "delivery"
    owed = deliver_all(engine, round_id, image_ids, {i: [(5, 5)] for i in image_ids}, delivery)
    truncated = sorted({name for names in owed.values() for name in names})[-1]
    (delivery / f"{truncated}.json").write_text('{"images": [')
    os.close(os.open(os.fsencode(delivery) + b"/b\xffob.json", os.O_CREAT | os.O_WRONLY))
    result = _qc("round", "ingest", str(round_id), str(delivery), "--db", url, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    refused = sorted(line for line in lines if line.startswith("refused: "))
    assert refused == [
        f"refused: {delivery}/b\\xffob.json (file_name): the name is not UTF-8 text; "
        "rename it (e.g. to the annotator's name)",
        f"refused: {truncated}: {delivery}/{truncated}.json: cannot detect the format: the file is not valid JSON "
        "(the file looks truncated): Expecting value at line 1 column 13; fix the JSON syntax or export the file again",
    ]
    stored = [line for line in lines if not line.startswith("refused: ")]
    assert len(stored) == 2 and all(" read as coco: " in line for line in stored), lines
