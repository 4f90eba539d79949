"""One Prefect test harness for every test that runs a flow (a temporary server, started once per session).

The ``prefect_harness`` fixture is registered in ``tests/conftest.py`` for every test folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = [
    "migrated_prefect_database",
    "prefect_client_services_stopped",
    "prefect_harness",
    "seed_prefect_home",
    "stop_client_services",
]


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


@pytest.fixture(scope="session")
def migrated_prefect_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty Prefect database at Prefect's newest schema, made once per test run (xdist workers share it).

    A Prefect server that starts on a new home first migrates its database: about 5 s of CPU,
    half of its start. Tests of commands that start servers copy this one into the Prefect home
    they give the command (:func:`seed_prefect_home`), except where the first start is what they test.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # pytest-N/, this run's, under xdist
    path = shared / "prefect-database" / "prefect.db"
    with (shared / "prefect-database.lock").open("w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # the first worker makes it, the others wait and reuse it
        if not path.exists():
            _migrate(path)
    return path


def _migrate(path: Path) -> None:
    """Create the Prefect database ``path`` with ``prefect server database upgrade`` (in a folder renamed when done)."""
    making = path.parent.with_name(path.parent.name + ".making")
    shutil.rmtree(making, ignore_errors=True)
    making.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PREFECT_HOME=str(making),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{making / path.name}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    command = [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and (making / path.name).exists(), done.stdout + done.stderr
    making.rename(path.parent)


def seed_prefect_home(home: Path, database: Path) -> None:
    """Put a copy of the migrated ``database`` where a server with Prefect home ``home`` keeps its own."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, home / "prefect.db")


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
