"""Alembic environment of the qc store.

Run by :func:`qc.store.db.upgrade` (which passes an open connection in
``config.attributes["connection"]``) or by the ``alembic`` tool (URL from ``-x url=...``,
else the ini's ``sqlalchemy.url``, else the qc default). SQLite uses batch mode
(``render_as_batch``) so that later revisions can alter tables there.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from qc.store import models
from qc.store.db import make_engine

target_metadata = models.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str | None:
    return context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")


def run_migrations_offline() -> None:
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _configure_and_run(given)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _configure_and_run(connection)
    finally:
        engine.dispose()


# Only under Alembic: importing this module elsewhere (pytest's doctest collection) does nothing.
if getattr(context, "_proxy", None) is not None:
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()
