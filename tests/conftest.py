"""Shared set-up: Prefect quiet and offline in every test process (helpers live in ``tests/support``)."""

from __future__ import annotations

import os

from tests.support.databases import postgres_database
from tests.support.prefect import prefect_harness

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

__all__ = ["postgres_database", "prefect_harness"]
