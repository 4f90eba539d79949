"""Engines, sessions and the schema revision: SQLite by default, PostgreSQL for teams.

Nothing is built at import. :func:`make_engine` takes a URL, else ``QC_DATABASE_URL``,
else the SQLite file ``qc.db`` in the working folder. SQLite connections run in WAL mode
with foreign keys on and a busy timeout, and begin their transactions explicitly so that
savepoints and transactional DDL work. ``postgresql://`` URLs use psycopg 3, and their
pooled connections are pinged before use (``pool_pre_ping``), so that after a server restart
a session reconnects instead of failing on a dead connection.

The schema is created and changed only by Alembic (:func:`upgrade`, ``qc db upgrade``);
no code path drops a table. :func:`check_schema` refuses a database behind the code.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from qc.errors import InvalidOptionError, SchemaOutdatedError, StoreError

if TYPE_CHECKING:  # Alembic (~0.15 s to import) is loaded by the functions that use it
    from alembic.config import Config

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "LOCK_TIMEOUT_VAR",
    "SUPPORTED_DRIVERS",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "largest_id",
    "lock_timeout_from_env",
    "make_engine",
    "resolve_url",
    "session_for",
    "session_scope",
    "unavailable_error",
    "unavailable_reason",
    "upgrade",
]

log = logging.getLogger(__name__)

ENV_VAR = "QC_DATABASE_URL"
DEFAULT_URL = "sqlite:///qc.db"
LOCK_TIMEOUT_VAR = "QC_LOCK_TIMEOUT"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "qc_sqlite_begin_immediate"
_PACKAGE_DIR = Path(__file__).resolve().parent
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
"""The database drivers qc runs on (``postgresql://`` and ``postgres://`` mean ``postgresql+psycopg://``)."""


def resolve_url(url: str | URL | None = None) -> URL:
    """The database URL: the argument, else ``$QC_DATABASE_URL``, else ``sqlite:///qc.db``.

    A plain file path (no ``://``) names a SQLite file, as ``--db demo-out/qc.db`` reads.

    >>> resolve_url("postgresql://qc@db/qc").drivername
    'postgresql+psycopg'
    >>> resolve_url("sqlite:///x.db").database
    'x.db'
    >>> resolve_url("demo-out/qc.db").render_as_string()
    'sqlite:///demo-out/qc.db'
    >>> try:
    ...     resolve_url("postgres:/x")
    ... except InvalidOptionError as error:
    ...     print(error.option, error.got)
    --db postgres:/x
    >>> try:
    ...     resolve_url("mysql://qc:secret@db/qc")
    ... except InvalidOptionError as error:
    ...     print(error.got)
    mysql://qc:***@db/qc
    """
    chosen = url if url is not None else os.environ.get(ENV_VAR) or DEFAULT_URL
    if isinstance(chosen, str) and "://" not in chosen and ":" not in chosen.split("/")[0]:
        chosen = f"sqlite:///{chosen}"
    try:
        parsed = make_url(chosen)
    except ArgumentError as exc:
        raise InvalidOptionError(
            "--db",
            "a database URL (sqlite:///path/qc.db, postgresql://user@host/db) or a SQLite file path",
            str(chosen),
            hint="Check the --db option or $QC_DATABASE_URL",
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in SUPPORTED_DRIVERS:  # mysql://, foo://, postgresql+asyncpg:// fail deep inside otherwise
        raise InvalidOptionError(
            "--db",
            "a SQLite or PostgreSQL URL (sqlite:///path/qc.db, postgresql://user@host/db) or a SQLite file path",
            parsed.render_as_string(hide_password=True),
            hint=f"qc works on SQLite and on PostgreSQL through psycopg, not {parsed.drivername}",
        )
    return parsed


def make_engine(url: str | URL | None = None, *, echo: bool = False, lock_timeout: float | None = None) -> Engine:
    """An engine for ``url`` (see :func:`resolve_url`); in-memory SQLite shares one connection.

    ``lock_timeout`` (seconds) bounds how long a statement waits for a lock another connection
    holds (SQLite's busy timeout, default ``$QC_LOCK_TIMEOUT``, else 30 s; PostgreSQL's
    ``lock_timeout``, default ``$QC_LOCK_TIMEOUT``, else none): then it fails, and
    :func:`unavailable_reason` says "busy". PostgreSQL connections give up connecting after 10 s.

    >>> engine = make_engine("sqlite://", lock_timeout=0.5)
    >>> with engine.connect() as conn:
    ...     conn.exec_driver_sql("PRAGMA foreign_keys").scalar(), conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    (1, 500)
    """
    resolved = resolve_url(url)
    if lock_timeout is None:
        lock_timeout = lock_timeout_from_env(None)
    if resolved.get_backend_name() != "sqlite":
        connect = {} if "connect_timeout" in resolved.query else {"connect_timeout": 10}
        engine = create_engine(resolved, echo=echo, pool_pre_ping=True, connect_args=connect)
        if lock_timeout is not None:
            _set_on_connect(engine, f"SET lock_timeout = {max(1, round(lock_timeout * 1000))}")
        return engine
    in_memory = resolved.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(resolved, echo=echo, **kwargs)
    busy = SQLITE_BUSY_TIMEOUT_MS if lock_timeout is None else max(1, round(lock_timeout * 1000))
    _configure_sqlite(engine, wal=not in_memory, busy_timeout_ms=busy)
    return engine


def largest_id(engine: Engine | Connection) -> int:
    """The largest value an id or version column can hold on the engine's database.

    The columns are ``INTEGER``: 64-bit on SQLite, 32-bit on PostgreSQL (where comparing one with
    a larger number is an error, as binding a number beyond 64 bits is on SQLite).

    >>> largest_id(make_engine("sqlite://")) == 2**63 - 1
    True
    """
    return 2**63 - 1 if engine.dialect.name == "sqlite" else 2**31 - 1


def lock_timeout_from_env(default: float | None) -> float | None:
    """``$QC_LOCK_TIMEOUT`` (seconds to wait for a lock another program holds), else ``default``.

    >>> lock_timeout_from_env(10.0) if LOCK_TIMEOUT_VAR not in os.environ else 10.0
    10.0
    """
    text = os.environ.get(LOCK_TIMEOUT_VAR, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise InvalidOptionError(LOCK_TIMEOUT_VAR, "a number of seconds > 0", text, hint="e.g. 10")
    return value


_UNAVAILABLE = {
    "busy": "is busy: another program holds it locked{waited}; nothing was stored. Run the command again when "
    "that program has finished (or stop it)",
    "read-only": "is read-only; nothing was stored. Make the database file and its folder writable for you "
    "(or, on a server, give your user write access), or work on a copy",
    "unreachable": "cannot be opened or reached; check the --db URL (or $QC_DATABASE_URL): that the file's "
    "folder exists, or that the server runs and accepts you",
    "not-sqlite": "is not a SQLite file (file is not a database); nothing was stored. Check the --db path (or "
    "$QC_DATABASE_URL): it names some other file",
}


def unavailable_error(exc: BaseException, url: str | URL, *, waited: float | None = None) -> StoreError | None:
    """A :class:`StoreError` naming the database and what to do, when ``exc`` says it is busy, read-only or unreachable.

    ``None`` for any other error (see :func:`unavailable_reason`); ``waited`` is the lock timeout in seconds.

    >>> from sqlalchemy.exc import OperationalError
    >>> locked = OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
    >>> print(unavailable_error(locked, "sqlite:///qc.db", waited=10))  # doctest: +ELLIPSIS
    the database sqlite:///qc.db is busy: another program holds it locked (waited 10 s); nothing was stored...
    """
    reason = unavailable_reason(exc)
    if reason is None:
        return None
    where = unquote(resolve_url(url).render_as_string(hide_password=True))
    how = _UNAVAILABLE[reason].format(waited=f" (waited {waited:g} s)" if waited is not None else "")
    return StoreError(f"the database {where} {how}")


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot serve a request right now, or ``None`` for any other error.

    ``"busy"``: a lock held by another connection outlasted the lock timeout (SQLite "database
    is locked", PostgreSQL ``lock_not_available``, a deadlock or a cancelled statement);
    ``"read-only"``: the database (file, connection or server) refuses writes;
    ``"unreachable"``: the file cannot be opened or the server does not answer;
    ``"not-sqlite"``: the SQLite file is some other kind of file (``--db accepted.json``).
    """
    if not isinstance(exc, DBAPIError):
        return None
    text, state = str(exc.orig).lower(), str(getattr(exc.orig, "sqlstate", "") or "")
    if state == "25006" or "readonly database" in text or "read-only" in text:
        return "read-only"
    if state in ("55P03", "40P01", "57014") or "database is locked" in text or "database table is locked" in text:
        return "busy"
    if state.startswith("08") or state in ("57P01", "57P02", "57P03") or "unable to open database" in text:
        return "unreachable"
    if "file is not a database" in text:  # SQLITE_NOTADB: --db names a file that is not SQLite
        return "not-sqlite"
    lost = ("server closed the connection", "connection failed", "could not connect", "timeout expired")
    if isinstance(exc, OperationalError) and not state and any(phrase in text for phrase in lost):
        return "unreachable"
    return None


def _set_on_connect(engine: Engine, statement: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()


def _configure_sqlite(engine: Engine, *, wal: bool, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Pragmas on every new connection, and explicit ``BEGIN`` (pysqlite's own handling breaks savepoints)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any exception.

    On SQLite a ``write`` session takes the write lock when it begins (``BEGIN IMMEDIATE``,
    waiting up to the busy timeout), so concurrent writers queue instead of failing with
    "database is locked" after they have read; pass ``write=False`` for read-only work.
    """
    bind = engine.execution_options(**{_IMMEDIATE: True}) if write else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def session_for(
    url: str | URL | None = None, *, write: bool = True, check: bool = True, lock_timeout: float | None = None
) -> Iterator[Session]:
    """A session on the database at ``url`` for one task or command: its engine is disposed when the block ends.

    With ``check`` the schema must be current first (:func:`check_schema`); the session commits
    on success and rolls back on an exception, as :func:`session_scope`. ``lock_timeout`` is
    :func:`make_engine`'s. A database that is busy (locked past the timeout), read-only or
    unreachable raises :class:`StoreError` naming it and saying what to do (:func:`unavailable_error`).
    """
    engine = make_engine(url, lock_timeout=lock_timeout)
    try:
        if check:
            check_schema(engine)
        with session_scope(engine, write=write) as session:
            yield session
    except DBAPIError as exc:
        default = SQLITE_BUSY_TIMEOUT_MS / 1000 if engine.dialect.name == "sqlite" else None
        waited = lock_timeout if lock_timeout is not None else lock_timeout_from_env(default)
        error = unavailable_error(exc, engine.url, waited=waited)
        if error is None:
            raise
        raise error from exc
    finally:
        engine.dispose()


def alembic_config(engine: Engine | None = None) -> Config:
    """The Alembic configuration shipped inside the package (``qc/store/alembic.ini``)."""
    from alembic.config import Config

    config = Config(str(_PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(_PACKAGE_DIR / "migrations"))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration revision this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError("no Alembic migration found in qc/store/migrations/versions; the package is incomplete")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; ``None`` for a database without the qc schema."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, *, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` (default: the newest) in one transaction."""
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    log.info("database %s upgraded to %s", engine.url.render_as_string(hide_password=True), revision)


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutdatedError` unless the database is at the newest revision.

    A current database is recognised without Alembic (:func:`_quick_revisions`); any other
    answer goes through Alembic, which also words the error.
    """
    database, files = _quick_revisions(engine)
    if database is not None and database == files:
        return
    from alembic.script import ScriptDirectory

    head = head_revision()
    current = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if current == head:
        return
    if current is None:
        raise SchemaOutdatedError(
            f"the database {where} has no qc schema (expected revision {head}, found none); run `qc db upgrade`"
        )
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise StoreError(
            f"the database {where} is at revision {current}, which this qc does not know (newest known: {head}); "
            "it was upgraded by a newer qc: install that version"
        )
    raise SchemaOutdatedError(
        f"the database {where} is at revision {current} but this qc needs {head}; run `qc db upgrade`"
    )


_REVISION_LINE = re.compile(r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*["']([^"'\n]+)["']\s*$""", re.MULTILINE)


def _quick_revisions(engine: Engine) -> tuple[str | None, str | None]:
    """The database's revision and the newest migration's, each ``None`` where a quick look cannot tell.

    The database's: its one ``alembic_version`` row. The code's: the one revision that no
    migration file names as its ``down_revision`` (read from the files' text, not imported).
    Read-only commands thus check the schema without loading Alembic and the migrations.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_PACKAGE_DIR / "migrations" / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table (no qc schema), or the database cannot answer: Alembic will say
        rows = []
    return (rows[0] if len(rows) == 1 else None), (heads.pop() if len(heads) == 1 else None)
