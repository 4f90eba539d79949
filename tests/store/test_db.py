"""Engines and sessions: URL resolution, SQLite pragmas, transactions and savepoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from qc.store import api, db, models


def test_url_comes_from_the_argument_then_the_environment_then_qc_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(db.ENV_VAR, raising=False)
    assert db.resolve_url().render_as_string() == "sqlite:///qc.db"
    monkeypatch.setenv(db.ENV_VAR, "postgresql://qc@dbhost/qc")
    assert db.resolve_url().render_as_string() == "postgresql+psycopg://qc@dbhost/qc"
    assert db.resolve_url("sqlite:///other.db").database == "other.db"


def test_default_engine_is_a_sqlite_file_in_the_working_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(db.ENV_VAR, raising=False)
    engine = db.make_engine()
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    assert (tmp_path / "qc.db").is_file()


def test_sqlite_file_runs_wal_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            pragmas = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        engine.dispose()
    assert pragmas == ["wal", 1, db.SQLITE_BUSY_TIMEOUT_MS]


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        api.create_project(session, name="kept", task_type="semantic")
    with pytest.raises(RuntimeError, match="boom"), db.session_scope(engine) as session:
        api.create_project(session, name="lost", task_type="semantic")
        raise RuntimeError("boom")
    with db.session_scope(engine) as session:
        assert session.scalars(select(models.Project.name)).all() == ["kept"]


def test_a_rolled_back_savepoint_keeps_the_rest_of_the_transaction(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        api.create_project(session, name="outer", task_type="instance")
        with pytest.raises(RuntimeError), session.begin_nested():
            api.create_project(session, name="inner", task_type="instance")
            raise RuntimeError("undo the inner one")
    with db.session_scope(engine) as session:
        assert session.scalars(select(models.Project.name)).all() == ["outer"]


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), db.session_scope(engine) as session:
        session.add(models.Image(project_id=12345, file_name="x.png", width=1, height=1))
        session.flush()
    with db.session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Image)) == 0
