"""``qc db upgrade`` and ``qc db current`` on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from qc.cli import app
from qc.store import db

runner = CliRunner()


def test_db_upgrade_creates_the_schema_then_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    first = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert first.exit_code == 0, first.output
    head = db.head_revision()  # the newest migration (every branch adds one; the lead chains them)
    assert f"upgraded from empty to {head}" in first.output
    second = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert second.exit_code == 0 and f"already at revision {head}" in second.output
    engine = db.make_engine(url)
    try:
        db.check_schema(engine)
        assert "segment" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_db_current_says_whether_to_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.ENV_VAR, f"sqlite:///{tmp_path / 'env.db'}")
    behind = runner.invoke(app, ["db", "current"])
    assert behind.exit_code == 1 and "qc db upgrade" in behind.output and "none (empty)" in behind.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 0 and f"revision {db.head_revision()}" in current.output
    assert "up to date" in current.output


def test_db_takes_a_sqlite_file_path_and_names_a_bad_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--db demo-out/qc.db`` (a path, as the demo prints it) is that SQLite file; a malformed URL is a usage error."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo-out").mkdir()
    made = runner.invoke(app, ["db", "upgrade", "--db", "demo-out/qc.db"])
    assert made.exit_code == 0, made.output
    assert "sqlite:///demo-out/qc.db: upgraded from empty" in made.output
    engine = db.make_engine(f"sqlite:///{tmp_path / 'demo-out' / 'qc.db'}")
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()
    bad = runner.invoke(app, ["db", "upgrade", "--db", "postgres:/nowhere"])
    assert bad.exit_code == 1 and "--db must be a database URL" in bad.output and "'postgres:/nowhere'" in bad.output


@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["round", "status", "1"]])
def test_a_db_that_is_not_sqlite_is_one_error_line(tmp_path: Path, command: list[str]) -> None:
    """``--db accepted.json`` (not a SQLite file) names the database and --db; it was a DatabaseError traceback."""
    not_sqlite = tmp_path / "accepted.json"
    not_sqlite.write_text('{"images": []}\n' * 200, encoding="utf-8")
    answer = runner.invoke(app, [*command, "--db", str(not_sqlite)])
    assert answer.exit_code == 1, answer.output
    assert answer.exception is None or isinstance(answer.exception, SystemExit), answer.exception
    assert answer.output.startswith("error: the database ") and "not a SQLite file" in answer.output
    assert "--db" in answer.output and answer.output.count("\n") == 1


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://qc:secret@db/qc", "'mysql://qc:***@db/qc'. qc works on SQLite and on PostgreSQL through psycopg"),
        ("foo://x/y", "'foo://x/y'"),
        ("postgresql+asyncpg://qc@127.0.0.1/qc", "not postgresql+asyncpg"),
    ],
)
@pytest.mark.parametrize("command", [["db", "current"], ["round", "status", "1"]])
def test_a_db_url_qc_cannot_run_on_is_named(command: list[str], url: str, shown: str) -> None:
    """A MySQL, unknown or async driver URL was a ModuleNotFoundError/NoSuchModuleError/TypeError traceback."""
    answer = runner.invoke(app, [*command, "--db", url])
    assert answer.exit_code == 1, answer.output
    assert answer.output.startswith("error: field '--db': --db must be a SQLite or PostgreSQL URL"), answer.output
    assert shown in answer.output and "secret" not in answer.output and answer.output.count("\n") == 1
