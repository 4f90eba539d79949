"""What every command shares: the console, the ``--db`` option, errors to exit codes, sessions, Prefect, the spinner.

The database is chosen with ``--db`` (or ``$QC_DATABASE_URL``, else ``sqlite:///qc.db`` in the
working folder). A command runs its work inside :func:`failures`, the one place where a
:class:`~qc.errors.QCError` becomes the ``error:`` line and the exit code the error class
carries (:attr:`~qc.errors.QCError.exit_code`).

Prefect runs in its default local mode (a temporary server per process, analytics off); its
home is a ``.prefect`` folder beside the qc database, so Prefect's own database stays apart
from qc's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import ClassVar

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from qc.cli._flow_log import failed_run_log, prefect_output_to_file
from qc.errors import InvalidOptionError, QCError
from qc.store import db
from qc.store.api import find_project

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
    except DBAPIError as exc:  # a busy, read-only or unreachable database met outside db.session_for
        reason = db.unavailable_reason(exc)
        if reason is None:
            raise
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else reason
        console.print(Text.assemble(("error:", "red"), f" the database is {reason} ({first}); nothing was stored"))
        raise typer.Exit(code=1) from exc


def print_table(table: Table) -> None:
    """``table`` as wide as its widest row: values (a name of any length) are neither wrapped nor cut."""
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
    return db.session_for(url, write=write, lock_timeout=db.lock_timeout_from_env(LOCK_TIMEOUT))


def database_url(url: str | None) -> str:
    """The URL a command works on, as text (flows get URLs, not engines)."""
    return db.resolve_url(url).render_as_string(hide_password=False)


def project_id(session: Session, name: str) -> int:
    """The id of the project called ``name`` (:class:`~qc.errors.NotFoundError` listing the projects if none)."""
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
    resolved = db.resolve_url(url)
    beside = (
        Path(resolved.database).resolve().parent
        if resolved.get_backend_name() == "sqlite" and resolved.database
        else Path.cwd()
    )
    os.environ.setdefault("PREFECT_HOME", str(beside / ".prefect"))


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
def working(what: str) -> Iterator[None]:
    """A spinner with elapsed time while a flow runs (on a terminal); Prefect's own log output goes to a file."""
    columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn())
    with prefect_output_to_file():
        if not console.is_terminal:  # a pipe or file gets the result lines only (no empty line for the spinner)
            yield
            return
        with Progress(*columns, console=console, transient=True) as progress:
            progress.add_task(what, total=None)
            yield
