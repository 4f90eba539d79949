"""Store fixtures: the same tests run on in-memory SQLite, a SQLite file and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from qc.store import db
from tests.support.databases import BACKENDS, postgres_engine, upgraded


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine on an empty database, once per backend."""
    backend = request.param
    if backend == "sqlite-memory":
        engine = db.make_engine("sqlite://")
    elif backend == "sqlite-file":
        engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'qc.db'}")
    else:
        engine = postgres_engine(request.getfixturevalue("postgres_database"))
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a database upgraded to the newest revision."""
    upgraded(empty_engine)
    return empty_engine
