"""What every command shares: the console, the ``--db`` option, errors to exit codes, sessions, Prefect, the spinner.

The database is chosen with ``--db`` (or ``$QC_DATABASE_URL``, else ``sqlite:///qc.db`` in the
working folder). A command runs its work inside :func:`failures`, the one place where a
:class:`~qc.errors.QCError` becomes the ``error:`` line and the exit code the error class
carries (:attr:`~qc.errors.QCError.exit_code`).

Prefect's home is a ``.prefect`` folder beside the qc database, so Prefect's own database stays
apart from qc's. A flow command runs its flows inside :func:`prefect_api`: the configured Prefect
API if there is one, else a running ``qc server``, else the local server that the first flow
command starts and later ones reuse (:mod:`flows.local_server`; ``QC_PREFECT_EPHEMERAL=1``
keeps Prefect's temporary per-command server).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import typer
from rich.console import Console
from rich.text import Text

from qc.cli._flow_log import failed_run_log, prefect_output_to_file
from qc.errors import InvalidOptionError, QCError

if TYPE_CHECKING:  # the store (SQLAlchemy, SQLModel) is imported by the commands that open the database
    from rich.table import Table
    from sqlmodel import Session

__all__ = [
    "DB_OPTION",
    "EXIT_CODES",
    "LOCK_TIMEOUT",
    "PREFECT_DEFAULTS",
    "PROJECT_OPTION",
    "UsageError",
    "configure_prefect",
    "console",
    "database_url",
    "exactly_one",
    "failures",
    "open_session",
    "pointing_at",
    "prefect_api",
    "prefect_home",
    "print_table",
    "project_id",
    "ready",
    "working",
]

EXIT_CODES = (
    "Exit codes: 0 success; 1 an error in the input or the database (the message says what, where and how to fix "
    "it); 2 wrong command-line usage; 3 the database schema is behind the code (run `qc db upgrade`)."
)

LOCK_TIMEOUT = 10.0
"""Seconds a command waits for a database another program holds locked (``$QC_LOCK_TIMEOUT`` overrides)."""

console = Console(soft_wrap=True, markup=False, highlight=False)
"""Prints every text as it is: names, file names and messages come from files and databases, so no rich markup
(``[/]`` prints as ``[/]``), no highlighting and no wrapping (a 100,000-character value prints in one go)."""

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: $QC_DATABASE_URL, else sqlite:///qc.db).")
PROJECT_OPTION = typer.Option(..., "--project", "-p", help="Project name (as given to qc init).")


class UsageError(InvalidOptionError):
    """Options that do not go together (e.g. two of a command's exactly-one-of choices): wrong command-line usage."""

    exit_code: ClassVar[int] = 2


@contextmanager
def failures() -> Iterator[None]:
    """Turn a qc error into one clear ``error:`` line and the exit code its class documents."""
    try:
        yield
    except QCError as exc:
        console.print(Text.assemble(("error:", "red"), f" {exc}"))
        log = failed_run_log()
        if log is not None:
            console.print(f"(Prefect's log of the run: {log})", style="dim")
        raise typer.Exit(code=exc.exit_code) from exc
    except Exception as exc:  # a busy, read-only or unreachable database met outside db.session_for
        if "sqlalchemy" not in sys.modules:  # no database was opened: not that
            raise
        from sqlalchemy.exc import DBAPIError

        from qc.store import db

        reason = db.unavailable_reason(exc) if isinstance(exc, DBAPIError) else None
        if reason is None or not isinstance(exc, DBAPIError):
            raise
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else reason
        if reason == "not-sqlite":
            reason, first = "not a SQLite file", f"{first}; check the --db path or $QC_DATABASE_URL"
        console.print(Text.assemble(("error:", "red"), f" the database is {reason} ({first}); nothing was stored"))
        raise typer.Exit(code=1) from exc


def print_table(table: Table) -> None:
    """``table`` as wide as its widest row: values (a name of any length) are neither wrapped nor cut."""
    from rich.measure import Measurement

    needed = Measurement.get(console, console.options.update(max_width=sys.maxsize), table).maximum
    if needed <= console.width:
        console.print(table)
        return
    wide = Console(file=console.file, width=needed, force_terminal=console.is_terminal, markup=False, highlight=False)
    wide.print(table)


def exactly_one(choices: Mapping[str, bool]) -> str:
    """The one option of ``choices`` (option text -> whether it was given) that was given, else :class:`UsageError`.

    >>> exactly_one({"--round N": False, "--project NAME": True})
    '--project NAME'
    >>> exactly_one({"--rework": True, "--escalate": True})
    Traceback (most recent call last):
    ...
    qc.cli._common.UsageError: options must be exactly one of --rework, --escalate; got ['--rework', '--escalate']
    """
    given = [option for option, chosen in choices.items() if chosen]
    if len(given) != 1:
        raise UsageError("options", "exactly one of " + ", ".join(choices), given, field=None)
    return given[0]


def open_session(url: str | None, *, write: bool = True) -> AbstractContextManager[Session]:
    """A session on a database whose schema is current (else exit code 3 with the fix); its engine is disposed.

    A lock another program holds is waited for :data:`LOCK_TIMEOUT` seconds (``$QC_LOCK_TIMEOUT``);
    then, as for a read-only or unreachable database, a :class:`~qc.errors.StoreError` names the
    database and what to do.
    """
    from qc.store import db

    return db.session_for(url, write=write, lock_timeout=db.lock_timeout_from_env(LOCK_TIMEOUT))


def database_url(url: str | None) -> str:
    """The URL a command works on, as text (flows get URLs, not engines)."""
    from qc.store import db

    return db.resolve_url(url).render_as_string(hide_password=False)


def project_id(session: Session, name: str) -> int:
    """The id of the project called ``name`` (:class:`~qc.errors.NotFoundError` listing the projects if none)."""
    from qc.store.api import find_project

    return int(find_project(session, name=name).id or 0)


PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def configure_prefect(url: str) -> None:
    """Offline, quiet Prefect whose home sits beside the qc database (or in the working folder)."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from qc.store import db

    resolved = db.resolve_url(url)
    beside = (
        Path(resolved.database).resolve().parent
        if resolved.get_backend_name() == "sqlite" and resolved.database
        else Path.cwd()
    )
    os.environ.setdefault("PREFECT_HOME", str(beside / ".prefect"))


def prefect_home(url: str) -> Path:
    """The Prefect home of the commands on database ``url``: ``$PREFECT_HOME``, else ``.prefect`` beside it."""
    configure_prefect(url)
    return Path(os.environ["PREFECT_HOME"])


@contextmanager
def prefect_api(url: str) -> Iterator[str | None]:
    """The Prefect API this command's flow runs report to, for the block (import the flows inside it).

    In order: ``QC_PREFECT_EPHEMERAL=1`` keeps Prefect's temporary per-command server (None);
    a configured API (``$PREFECT_API_URL``, a Prefect profile or settings) is used as is; else the
    API of a running ``qc server start`` on this database; else the local server of
    :mod:`flows.local_server`, started on first use and stopped when idle. For the last two,
    ``PREFECT_API_URL`` is set for the block and restored after.
    """
    configure_prefect(url)
    from prefect.settings import get_current_settings

    configured = os.environ.get("PREFECT_API_URL") or get_current_settings().api.url
    if os.environ.get("QC_PREFECT_EPHEMERAL", "").strip() == "1" or configured:
        yield configured
        return
    from flows.server import http_ok, read_state

    team = read_state(url)
    if team is not None and http_ok(f"{team.api_url}/health"):
        with pointing_at(team.api_url):
            yield team.api_url
        return
    from flows.local_server import idle_minutes, using

    idle = idle_minutes()
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 120)

    def starting(log: Path) -> None:
        console.print(
            f"starting a local Prefect server for this and later commands (stops after {idle:g} min idle; log {log})",
            markup=False,
        )

    with using(prefect_home(url), idle_minutes=idle, timeout=timeout, on_start=starting) as server:
        with pointing_at(server.api_url), _without_heartbeats():
            yield server.api_url


@contextmanager
def _without_heartbeats() -> Iterator[None]:
    """No flow-run heartbeat thread (unless ``$PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` asks for one).

    Prefect joins that thread at the end of every flow run, which costs up to a second per run;
    on the local server, whose runs all live in the command's own process, heartbeats detect
    nothing the command's exit does not.
    """
    if os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY"):
        yield
        return
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


@contextmanager
def pointing_at(api: str) -> Iterator[None]:
    """``PREFECT_API_URL=api`` in the environment and Prefect's global settings for the block, restored after."""
    from prefect.context import refresh_global_settings_context

    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = api
    refresh_global_settings_context()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before
        refresh_global_settings_context()


def ready(url: str | None) -> str:
    """The database URL for a flow, once its schema is current and it takes writes; Prefect configured.

    The write check (an empty write transaction) fails fast, before Prefect starts, on a database
    another program holds locked. A read-only database passes it (nothing is written) and fails
    at the flow's first write, with the same one-line error.
    """
    target = database_url(url)
    with open_session(url, write=True) as session:
        session.connection()  # begins the (empty) write transaction: on SQLite it takes the write lock
    configure_prefect(target)
    return target


@contextmanager
def working(what: str) -> Iterator[Callable[[str], None]]:
    """A spinner with elapsed time while a flow runs (on a terminal); yields a function that prints a line above it.

    Prefect's own log output goes to a file meanwhile (:func:`~qc.cli._flow_log.prefect_output_to_file`).
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn())
    with prefect_output_to_file():
        if not console.is_terminal:  # a pipe or file gets the result lines only (no empty line for the spinner)
            yield lambda line: console.print(line, markup=False)
            return
        with Progress(*columns, console=console, transient=True) as progress:
            progress.add_task(what, total=None)
            yield lambda line: progress.console.print(line, markup=False)
