"""qc.rounds tests run on a migrated SQLite file per test (``engine``, from ``tests/support/rounds.py``),
or on a SQLite file and then PostgreSQL (``any_engine``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc.store import db
from tests.support.databases import FILE_AND_POSTGRES, postgres_engine, upgraded
from tests.support.rounds import engine

__all__ = ["any_engine", "engine"]


@pytest.fixture(params=FILE_AND_POSTGRES)
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database on a SQLite file, then on PostgreSQL (the per-file savepoints on both)."""
    on_file = request.param == "sqlite-file"
    made = db.make_engine(f"sqlite:///{tmp_path / 'qc.db'}") if on_file else None
    engine = made or postgres_engine(request.getfixturevalue("postgres_database"))
    upgraded(engine)
    yield engine
    engine.dispose()
