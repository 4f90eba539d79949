"""One Prefect test harness for every test that runs a flow (a temporary server, started once per session).

The ``prefect_harness`` fixture is registered in ``tests/conftest.py`` for every test folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

__all__ = ["prefect_client_services_stopped", "prefect_harness", "stop_client_services"]


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def prefect_client_services_stopped() -> Iterator[None]:
    """Stop Prefect's client-side services (events and API-log workers) after every test.

    A flow run opens an events websocket on Prefect's global event-loop thread; left open, its
    keep-alive ping calls ``random.getrandbits`` every 20 s from that thread, whatever test runs
    then. When that lands while hypothesis draws an example, hypothesis sees the global ``random``
    state change ("Do not use the `random` module inside strategies") and the test fails, in
    whichever order the tests run. Draining the workers closes the websocket; the next flow run
    starts fresh ones.
    """
    yield
    stop_client_services()


def stop_client_services() -> int:
    """Drain Prefect's events and API-log workers of this process; how many were running."""
    if "prefect.events.worker" not in sys.modules:  # no flow ran in this process yet: nothing to stop
        return 0
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    running = 0
    for service in (APILogWorker, EventsWorker):
        running += len(service._instances)
        service.drain_all(timeout=10, at_exit=False)
    return running
