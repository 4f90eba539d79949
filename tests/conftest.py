"""Shared set-up: Prefect quiet and offline in every test process (helpers live in ``tests/support``)."""

from __future__ import annotations

import os
import random

import pytest

from tests.support.databases import postgres_database
from tests.support.prefect import prefect_client_services_stopped, prefect_harness

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

__all__ = ["postgres_database", "prefect_client_services_stopped", "prefect_harness"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shuffle",
        metavar="SEED",
        type=int,
        default=None,
        help="run the tests in a random order drawn from SEED (finds order dependencies); also from $QC_TEST_SHUFFLE",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--shuffle SEED``: the files in a random order, and each file's tests in a random order.

    As pytest-randomly does, tests stay grouped by file so module-scoped fixtures are built once;
    the order is a function of SEED alone, the same in every xdist worker.
    """
    seed = config.getoption("--shuffle")
    if seed is None and os.environ.get("QC_TEST_SHUFFLE"):
        seed = int(os.environ["QC_TEST_SHUFFLE"])
    if seed is None:
        return
    rng = random.Random(seed)
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(str(item.path), []).append(item)
    files = sorted(by_file)
    rng.shuffle(files)
    items[:] = [item for name in files for item in rng.sample(by_file[name], len(by_file[name]))]


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("--shuffle") or os.environ.get("QC_TEST_SHUFFLE")
    return f"test order shuffled with seed {seed}" if seed else None
