"""``qc export -o ""`` (an unset shell variable): one error line naming the path, for every format."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from qc.cli import app
from tests.support.rounds import setup_round


@pytest.mark.parametrize("tool_format", [None, "coco", "cvat-xml", "labelstudio"])
def test_an_empty_output_path_is_one_error_line(sqlite_engine: Engine, tool_format: str | None) -> None:
    """It was a ValueError traceback ("PosixPath('.') has an empty name") from the atomic write's temporary name."""
    round_id, _ = setup_round(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    chosen = ["--format", tool_format] if tool_format else []
    answer = CliRunner().invoke(app, ["export", "--round", str(round_id), "-o", "", *chosen, "--db", url])
    assert answer.exit_code == 1, answer.output
    assert (
        answer.output
        == "error: file .: is a folder, not a file: give the name of the file to write, e.g. accepted.json\n"
    )
