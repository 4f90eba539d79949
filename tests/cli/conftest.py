"""Command-line fixtures: an upgraded database on a SQLite file (and on PostgreSQL: ``review_engine``), whose URL
the commands get with ``--db``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc.store import db
from tests.review.conftest import review_engine
from tests.support.databases import upgraded

__all__ = ["review_engine", "sqlite_engine"]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An upgraded database on a SQLite file (the tests pass its URL with --db)."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'qc.db'}")
    upgraded(engine)
    yield engine
    engine.dispose()
