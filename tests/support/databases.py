"""Databases for tests: PostgreSQL from ``QC_TEST_POSTGRES_URL`` (default: the local server, trust auth).

One fresh database is created per test session and dropped at its end; each engine from
:func:`postgres_engine` gets its own schema in it. Where no server answers, the PostgreSQL
cases are skipped with the reason. The ``postgres_database`` fixture is registered in
``tests/conftest.py`` for every test folder.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError

from qc.store import db

__all__ = [
    "BACKENDS",
    "FILE_AND_POSTGRES",
    "POSTGRES_URL",
    "locked",
    "postgres_database",
    "postgres_engine",
    "read_only_url",
    "upgraded",
]

POSTGRES_URL = os.environ.get("QC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_schemas = itertools.count(1)

BACKENDS = [
    pytest.param("sqlite-memory", id="sqlite-memory"),
    pytest.param("sqlite-file", id="sqlite-file"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """A fresh, empty PostgreSQL database for this test session (dropped afterwards)."""
    admin_url = db.resolve_url(POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(
            f"no PostgreSQL server answers at {admin_url.render_as_string(hide_password=True)} ({exc.orig}); "
            "set QC_TEST_POSTGRES_URL to a server where you may create databases to run these cases"
        )
    name = f"qc_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def postgres_engine(database: URL) -> Engine:
    """An engine on a new schema of the session's database (search_path points at it)."""
    schema = f"t{next(_schemas)}"
    setup = create_engine(database, isolation_level="AUTOCOMMIT")
    with setup.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    setup.dispose()
    return db.make_engine(database.update_query_dict({"options": f"-csearch_path={schema}"}))


def upgraded(engine: Engine) -> Engine:
    """``engine``'s database at the newest revision, as :func:`qc.store.db.upgrade` leaves a new one.

    A new SQLite database (a file not yet written, or in memory) gets a copy of a template this
    process migrated once (:func:`qc.store.db.upgrade` costs 0.2-0.3 s, and some 350 tests each
    need a fresh database); any other database is upgraded. The tests of the migrations
    themselves call :func:`qc.store.db.upgrade`.
    """
    if engine.dialect.name != "sqlite":
        db.upgrade(engine)
        return engine
    path = engine.url.database
    if path in (None, "", ":memory:"):
        source = sqlite3.connect(_template())
        try:
            with engine.connect() as connection:
                source.backup(connection.connection.driver_connection)  # type: ignore[arg-type]
        finally:
            source.close()
        return engine
    target = Path(str(path))
    if target.exists() and target.stat().st_size > 0:
        db.upgrade(engine)
        return engine
    engine.dispose()  # no pooled connection holds the file being replaced
    shutil.copyfile(_template(), target)
    return engine


_templates: dict[str, str] = {}


def _template() -> str:
    """The path of this process's migrated SQLite database (made on first use, removed at exit)."""
    if "head" not in _templates:
        folder = tempfile.mkdtemp(prefix="qc-template-")
        path = os.path.join(folder, "qc.db")
        engine = db.make_engine(f"sqlite:///{path}")
        db.upgrade(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        atexit.register(shutil.rmtree, folder, True)
        _templates["head"] = path
    return _templates["head"]


FILE_AND_POSTGRES = [
    pytest.param("sqlite-file", id="sqlite-file"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@contextmanager
def locked(engine: Engine, postgres_lock: str) -> Iterator[None]:
    """Another program holds SQLite's write lock, or on PostgreSQL runs ``postgres_lock`` in an open transaction."""
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(str(engine.url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    other_engine = create_engine(engine.url)
    try:
        with other_engine.connect() as other:
            other.exec_driver_sql(postgres_lock)
            yield
            other.rollback()
    finally:
        other_engine.dispose()


def read_only_url(engine: Engine) -> str:
    """The engine's database opened read-only (SQLite ``mode=ro``; PostgreSQL read-only transactions)."""
    if engine.dialect.name == "sqlite":
        return f"sqlite:///file:{engine.url.database}?mode=ro&uri=true"
    options = engine.url.query["options"]
    assert isinstance(options, str)
    url = engine.url.update_query_dict({"options": f"{options} -cdefault_transaction_read_only=on"})
    return url.render_as_string(hide_password=False)
