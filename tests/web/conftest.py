"""Web fixtures: the databases of the review tests and a client of the review page on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.review.conftest import review_engine, sqlite_engine
from tests.web.client import Site, make_site

__all__ = ["review_engine", "site", "site_on_both", "sqlite_engine"]


@pytest.fixture
def site(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Site]:
    built = make_site(sqlite_engine, tmp_path)
    yield built
    built[1].app.state.engine.dispose()


@pytest.fixture
def site_on_both(review_engine: Engine, tmp_path: Path) -> Iterator[Site]:
    """The site on a SQLite file and on PostgreSQL."""
    built = make_site(review_engine, tmp_path)
    yield built
    built[1].app.state.engine.dispose()
