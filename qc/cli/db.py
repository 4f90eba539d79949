"""``qc db upgrade|current``: create and upgrade the qc database (Alembic migrations)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from qc.cli._common import DB_OPTION, console, failures

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["db_app"]

db_app = typer.Typer(help="Create and upgrade the qc database (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(url: str | None = DB_OPTION) -> None:
    """Apply every pending migration (creates the schema in an empty database); review items queued before
    disputes were stored get theirs."""
    from qc.store import db

    with failures():
        engine = db.make_engine(url)
    try:
        with failures():
            before = db.current_revision(engine)
            db.upgrade(engine)
            after = db.current_revision(engine)
            backfilled = _backfill_disputes(engine) if before is not None else {}
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{where}: already at revision {after} (head)")
    else:
        console.print(f"{where}: upgraded from {before or 'empty'} to {after} (head)")
    if backfilled:
        items = "1 review item got its" if len(backfilled) == 1 else f"{len(backfilled)} review items got their"
        console.print(f"{items} disputes ({sum(backfilled.values())} disputes)")


def _backfill_disputes(engine: Engine) -> dict[int, int]:
    from qc.rounds import backfill_disputes
    from qc.store import db

    with db.session_scope(engine) as session:
        return backfill_disputes(session)


@db_app.command("current")
def db_current(url: str | None = DB_OPTION) -> None:
    """Show the database's revision and whether it is up to date (exit code 1 when it is not)."""
    from qc.store import db

    with failures():
        engine = db.make_engine(url)
    try:
        with failures():  # an unreachable server or a missing database: one error line, not a traceback
            current = db.current_revision(engine)
            head = db.head_revision()
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    state = "up to date" if current == head else "behind: run `qc db upgrade`"
    console.print(f"{where}: revision {current or 'none (empty)'}, head {head} — {state}")
    if current != head:
        raise typer.Exit(code=1)
