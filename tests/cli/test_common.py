"""``failures()``: every qc error becomes one ``error:`` line and the exit code its class carries."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from qc.cli._common import UsageError, exactly_one, failures
from qc.errors import (
    ConflictError,
    FormatError,
    InvalidOptionError,
    NotFoundError,
    QCError,
    SchemaOutdatedError,
    StoreError,
)


def run_raising(error: Exception) -> tuple[int, str]:
    """Exit code and output of a one-command app whose command raises ``error`` inside ``failures()``."""
    app = typer.Typer()

    @app.command()
    def fail() -> None:
        with failures():
            raise error

    result = CliRunner().invoke(app, [])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (QCError("plain"), 1),
        (InvalidOptionError("--format", ["coco", "cvat-xml"], "xml"), 1),
        (FormatError("cannot parse", path="a.json"), 1),
        (StoreError("database refused"), 1),
        (NotFoundError("no round 7"), 1),
        (ConflictError("stale decision"), 1),
        (UsageError("options", "exactly one of --a, --b", [], field=None), 2),  # wrong usage, as Click's own
        (SchemaOutdatedError("run qc db upgrade"), 3),
    ],
)
def test_each_error_exits_with_its_class_code_and_one_line(error: QCError, code: int) -> None:
    exit_code, output = run_raising(error)
    assert exit_code == code == error.exit_code
    assert output == f"error: {error}\n"


def test_other_exceptions_are_bugs_and_pass_through() -> None:
    exit_code, _ = run_raising(RuntimeError("a bug"))
    assert exit_code == 1  # Click's generic failure: the traceback is kept, not turned into an error line


def test_exactly_one_names_what_was_given() -> None:
    assert exactly_one({"--round N": True, "--project NAME": False}) == "--round N"
    with pytest.raises(UsageError, match=r"exactly one of --round N, --project NAME; got \[\]") as caught:
        exactly_one({"--round N": False, "--project NAME": False})
    assert isinstance(caught.value, InvalidOptionError) and caught.value.field is None
