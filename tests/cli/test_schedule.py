"""``qc schedule``: parameters from the command line, and the one-line errors when no server is there."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qc.cli import app
from qc.cli.schedule import parse_params
from qc.errors import InvalidOptionError


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([], {}),  # no parameter
        (["k=3"], {"k": 3}),  # JSON number
        (["k=text"], {"k": "text"}),  # not JSON: kept as text
        ([" k =[1, 2]"], {"k": [1, 2]}),  # the key is stripped, the value parsed
        (["k=a=b"], {"k": "a=b"}),  # only the first = splits
    ],
)
def test_params_are_json_when_they_parse(pairs: list[str], expected: dict[str, object]) -> None:
    assert parse_params(pairs) == expected


@pytest.mark.parametrize("pair", ["oops", "=3", " =3"])
def test_a_param_without_key_is_an_invalid_option(pair: str) -> None:
    with pytest.raises(InvalidOptionError, match="--param must be KEY=VALUE") as caught:
        parse_params([pair])
    assert caught.value.got == pair


def test_without_a_server_the_commands_say_how_to_start_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    runner = CliRunner()
    for args in (["list"], ["add", "open-round", "--every", "60"], ["remove", "open-round", "x"]):
        result = runner.invoke(app, ["schedule", *args, "--db", url])
        assert result.exit_code == 1 and "run qc server start" in result.output, args
        assert len(result.output.strip().splitlines()) == 1
    bad = runner.invoke(app, ["schedule", "add", "open-round", "--param", "oops", "--db", url])
    assert bad.exit_code == 1 and "--param must be KEY=VALUE" in bad.output
