"""Review fixtures: an upgraded database on a SQLite file and on PostgreSQL (skipped when no server answers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from qc.store import db
from tests.support.databases import FILE_AND_POSTGRES, postgres_engine, upgraded


@pytest.fixture(params=FILE_AND_POSTGRES)
def review_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An upgraded database, once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite-file":
        engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('review') / 'qc.db'}")
    else:
        engine = postgres_engine(request.getfixturevalue("postgres_database"))
    upgraded(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('review') / 'qc.db'}")
    upgraded(engine)
    yield engine
    engine.dispose()
