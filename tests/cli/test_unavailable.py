"""A busy (locked), read-only or unreachable database (issue 13 item 11): one ``error:`` line naming it, exit 1.

Busy: another connection holds SQLite's write lock (or PostgreSQL's lock on the ``person``
table) for longer than the command's lock timeout (``$QC_LOCK_TIMEOUT``, here 0.3 s; 10 s by
default). Read-only: SQLite opened with ``mode=ro`` (a ``chmod a-w`` file too, unless the tests
run as root, for whom file modes do not stop writes), PostgreSQL with read-only transactions.
Nothing is stored, and the same command succeeds once the lock is gone.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bench.review_data import build_round
from qc.cli import app
from qc.cli._common import LOCK_TIMEOUT
from qc.store import db
from qc.store import models as m
from tests.support.databases import locked, read_only_url

runner = CliRunner()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _people(engine: Engine) -> list[str]:
    with db.session_scope(engine, write=False) as session:
        return sorted(session.scalars(select(m.Person.name)))


def _locked(engine: Engine) -> AbstractContextManager[None]:
    """Another program holds SQLite's write lock, or PostgreSQL's lock on the person table (inserts wait)."""
    return locked(engine, "LOCK TABLE person IN EXCLUSIVE MODE")


def _one_error_line(output: str, *phrases: str) -> None:
    assert output.startswith("error: the database ") and output.count("\n") == 1, output
    for phrase in phrases:
        assert phrase in output, output


def test_a_locked_database_is_named_in_one_line(review_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QC_LOCK_TIMEOUT", "0.3")
    url = _url(review_engine)
    where = unquote(review_engine.url.render_as_string(hide_password=True))
    with _locked(review_engine):
        busy = runner.invoke(app, ["person", "add", "dee", "--db", url])
    assert busy.exit_code == 1
    _one_error_line(busy.output, f"the database {where} is busy", "(waited 0.3 s); nothing was stored", "Run the")
    assert "dee" not in _people(review_engine)
    done = runner.invoke(app, ["person", "add", "dee", "--db", url])  # the lock is gone: the same command works
    assert done.exit_code == 0 and "dee" in _people(review_engine)


def test_a_flow_command_on_a_locked_database_fails_before_starting_prefect(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QC_LOCK_TIMEOUT", "0.3")
    build_round(sqlite_engine, images=1)
    with _locked(sqlite_engine):  # no prefect_harness: the command must stop before any flow runs
        busy = runner.invoke(app, ["round", "close", "1", "--db", _url(sqlite_engine)])
    assert busy.exit_code == 1
    _one_error_line(busy.output, "is busy: another program holds it locked")


def test_a_read_only_database_is_named_in_one_line(review_engine: Engine) -> None:
    url = read_only_url(review_engine)
    refused = runner.invoke(app, ["person", "add", "dee", "--db", url])
    assert refused.exit_code == 1
    _one_error_line(refused.output, "is read-only; nothing was stored. Make the database file")
    assert "dee" not in _people(review_engine)


@pytest.mark.skipif(os.geteuid() == 0, reason="file modes do not stop root from writing")
def test_a_file_without_write_permission_is_read_only(sqlite_engine: Engine) -> None:
    path = Path(str(sqlite_engine.url.database))
    sqlite_engine.dispose()
    path.chmod(0o444)
    try:
        refused = runner.invoke(app, ["person", "add", "dee", "--db", _url(sqlite_engine)])
    finally:
        path.chmod(0o644)
    assert refused.exit_code == 1
    _one_error_line(refused.output, "is read-only")


def test_a_read_only_database_fails_the_close_flow_in_one_line(prefect_harness: None, sqlite_engine: Engine) -> None:
    build_round(sqlite_engine, images=1)
    refused = runner.invoke(app, ["round", "close", "1", "--db", read_only_url(sqlite_engine)])
    assert refused.exit_code == 1
    first, *rest = refused.output.splitlines()
    _one_error_line(first + "\n", "is read-only; nothing was stored")
    assert len(rest) <= 1 and all(line.startswith("(Prefect's log of the run: ") for line in rest), rest
    with db.session_scope(sqlite_engine, write=False) as session:
        assert session.get(m.Round, 1).status == "open"


def test_an_unreachable_database_is_named_in_one_line(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'no-such-folder' / 'qc.db'}"
    gone = runner.invoke(app, ["person", "add", "dee", "--db", missing])
    assert gone.exit_code == 1
    _one_error_line(gone.output, f"the database {missing} cannot be opened or reached; check the --db URL")
    server = "postgresql+psycopg://qc@127.0.0.1:9/qc"  # the discard port: nothing listens
    refused = runner.invoke(app, ["round", "status", "1", "--db", server])
    assert refused.exit_code == 1
    _one_error_line(refused.output, "the database postgresql+psycopg://qc@127.0.0.1:9/qc cannot be opened or reached")
    for args in (["db", "current"], ["db", "upgrade"], ["round", "score", "1"]):  # the schema checks and migrations too
        answer = runner.invoke(app, [*args, "--db", server])
        assert answer.exit_code == 1, (args, answer.output)
        _one_error_line(answer.output, "127.0.0.1")  # the server's address, one line, no traceback
        assert "cannot be opened or reached" in answer.output or "is unreachable" in answer.output


def test_commands_wait_seconds_not_the_stores_half_minute(sqlite_engine: Engine) -> None:
    assert LOCK_TIMEOUT == 10.0 and db.SQLITE_BUSY_TIMEOUT_MS == 30_000
    with db.session_for(_url(sqlite_engine), lock_timeout=db.lock_timeout_from_env(LOCK_TIMEOUT)) as session:
        assert session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
