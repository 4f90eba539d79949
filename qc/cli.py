"""The ``qc`` command line.

One Typer sub-app per topic, each added to :data:`app` with ``app.add_typer``; later
topics (rounds, ingest, review, reports) add theirs the same way. The database is chosen
with ``--db`` (or ``$QC_DATABASE_URL``, else ``sqlite:///qc.db`` in the working folder).
"""

from __future__ import annotations

import typer
from rich.console import Console

from qc.errors import QCError
from qc.store import db

__all__ = ["app", "db_app"]

app = typer.Typer(name="qc", help="Quality control for image segmentation labels.", no_args_is_help=True)
db_app = typer.Typer(help="Create and upgrade the qc database (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console(soft_wrap=True)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: $QC_DATABASE_URL, else sqlite:///qc.db).")


@app.callback()
def main() -> None:
    """Quality control for image segmentation labels."""


@db_app.command("upgrade")
def db_upgrade(url: str | None = DB_OPTION) -> None:
    """Apply every pending migration (creates the schema in an empty database)."""
    engine = db.make_engine(url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
        after = db.current_revision(engine)
    except QCError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{where}: already at revision {after} (head)")
    else:
        console.print(f"{where}: upgraded from {before or 'empty'} to {after} (head)")


@db_app.command("current")
def db_current(url: str | None = DB_OPTION) -> None:
    """Show the database's revision and whether it is up to date (exit code 1 when it is not)."""
    engine = db.make_engine(url)
    try:
        current = db.current_revision(engine)
        head = db.head_revision()
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    state = "up to date" if current == head else "behind: run `qc db upgrade`"
    console.print(f"{where}: revision {current or 'none (empty)'}, head {head} — {state}")
    if current != head:
        raise typer.Exit(code=1)
