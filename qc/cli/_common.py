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
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import typer
from rich.console import Console

from qc.errors import InvalidOptionError, QCError

if TYPE_CHECKING:  # the store (SQLAlchemy, SQLModel) is imported by the commands that open the database
    from sqlmodel import Session

__all__ = [
    "DB_OPTION",
    "EXIT_CODES",
    "PREFECT_DEFAULTS",
    "PROJECT_OPTION",
    "UsageError",
    "configure_prefect",
    "console",
    "database_url",
    "exactly_one",
    "failures",
    "open_session",
    "project_id",
    "ready",
    "working",
]

EXIT_CODES = (
    "Exit codes: 0 success; 1 an error in the input or the database (the message says what, where and how to fix "
    "it); 2 wrong command-line usage; 3 the database schema is behind the code (run `qc db upgrade`)."
)

console = Console(soft_wrap=True)

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
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=exc.exit_code) from exc


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
    """A session on a database whose schema is current (else exit code 3 with the fix); its engine is disposed."""
    from qc.store import db

    return db.session_for(url, write=write)


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


def ready(url: str | None) -> str:
    """The database URL for a flow, after checking its schema is current and configuring Prefect."""
    target = database_url(url)
    with open_session(url, write=False):
        pass
    configure_prefect(target)
    return target


@contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner with elapsed time while a flow runs."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(what, total=None)
        yield
