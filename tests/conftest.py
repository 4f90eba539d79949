"""Shared set-up: Prefect quiet and offline in every test process (helpers live in ``tests/support``)."""

from __future__ import annotations

import os
import random

import pytest

from tests.support.databases import postgres_database
from tests.support.prefect import (
    migrated_prefect_database,
    prefect_client_services_stopped,
    prefect_harness,
    stop_shared_server,
)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

__all__ = ["migrated_prefect_database", "postgres_database", "prefect_client_services_stopped", "prefect_harness"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shuffle",
        metavar="SEED",
        type=int,
        default=None,
        help="run the tests in a random order drawn from SEED (finds order dependencies); also from $QC_TEST_SHUFFLE",
    )


DEMO_ROUND_FILES = ("tests/flows/test_demo_round.py", "tests/flows/test_report.py")
"""The files that share the demo round (a session fixture that takes a minute): one worker runs them."""

LONGEST_FILES = (
    "tests/cli/test_local_server.py",
    "tests/cli/test_local_server_recovery.py",
    "tests/flows/test_demo_round.py",
    "tests/flows/test_server.py",
    "tests/web/test_resolving.py",
    "tests/drills/test_drills.py",
    "tests/formats/test_fuzz.py",
    "tests/flows/test_dask.py",
)
"""The files that take longest (20-90 s each on 2 cores, mostly waiting for the servers, browsers and
children they start), longest first; the others follow by how many tests they hold, most first.

xdist hands each worker whole files in this order (longest processing time first). Ordered by the
number of tests alone, as xdist does by default, the local-server files started after 100 s and
one of them ran alone at the end while the other workers had finished (25-30 s of a 3.5 min run).
"""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``-n N --dist loadfile``: each file on one worker, and the demo round's files on the same one."""
    if config.getvalue("dist") != "loadfile":
        return None
    config.option.loadscopereorder = False  # the collection's order (pytest_collection_modifyitems) is the plan
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "demo-round" if path in DEMO_ROUND_FILES else path

    return FileScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The :data:`LONGEST_FILES` first; with ``--shuffle SEED``: the files in a random order and each file's tests too.

    As pytest-randomly does: a function of SEED alone, the same in every xdist worker.
    """
    seed = config.getoption("--shuffle")
    if seed is None and os.environ.get("QC_TEST_SHUFFLE"):
        seed = int(os.environ["QC_TEST_SHUFFLE"])
    if seed is None:
        _longest_first(items)
        return
    rng = random.Random(seed)
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(str(item.path), []).append(item)
    files = sorted(by_file)
    rng.shuffle(files)
    items[:] = [item for name in files for item in rng.sample(by_file[name], len(by_file[name]))]


def _longest_first(items: list[pytest.Item]) -> None:
    """:data:`LONGEST_FILES` first, then the other files by their number of tests (most first); stable."""
    first = {name: rank for rank, name in enumerate(LONGEST_FILES)}
    counts: dict[str, int] = {}
    for item in items:
        counts[_file(item)] = counts.get(_file(item), 0) + 1
    items.sort(key=lambda item: (first.get(_file(item), len(first)), -counts[_file(item)]))


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's end (in the xdist controller, after every worker): stop the shared Prefect server."""
    stop_shared_server(session.config._tmp_path_factory)  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("--shuffle") or os.environ.get("QC_TEST_SHUFFLE")
    return f"test order shuffled with seed {seed}" if seed else None
