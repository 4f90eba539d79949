"""qc.rounds tests run on a migrated SQLite file per test (``engine``, from ``tests/support/rounds.py``)."""

from __future__ import annotations

from tests.support.rounds import engine

__all__ = ["engine"]
