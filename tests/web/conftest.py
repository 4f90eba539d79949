"""Web fixtures: the SQLite database of the review tests and a client of the review page on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.review.conftest import sqlite_engine
from tests.web.client import Site, make_site

__all__ = ["site", "sqlite_engine"]


@pytest.fixture
def site(sqlite_engine: Engine, tmp_path: Path) -> Site:
    return make_site(sqlite_engine, tmp_path)
