"""One Prefect test harness for every test that runs a flow (a temporary server, started once per session).

The ``prefect_harness`` fixture is registered in ``tests/conftest.py`` for every test folder.
"""

from __future__ import annotations

import fcntl
import gc
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import local_server

__all__ = [
    "migrated_prefect_database",
    "prefect_client_services_stopped",
    "prefect_harness",
    "seed_prefect_home",
    "shared_server_home",
    "stop_client_services",
    "stop_shared_server",
]


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory, migrated_prefect_database: Path) -> Iterator[str]:
    """The API of one Prefect server for the whole test run, set for this process and its children.

    The first xdist worker that needs it starts it (qc's own :mod:`flows.local_server`, the
    server flow commands share, on a copy of the migrated database); the other workers reuse it;
    the run's end stops it (:func:`stop_shared_server`). A server of its own per worker cost each
    one 10-20 s of its start-up. Flow runs of different tests never read each other's.
    """
    home = shared_server_home(tmp_path_factory)
    with (home.parent / "prefect-server.lock").open("w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (home / "prefect.db").exists():
            seed_prefect_home(home, migrated_prefect_database)
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))  # this process's client files
    from qc.cli._common import pointing_at

    with local_server.using(home, idle_minutes=60, timeout=120) as server:
        try:
            with pointing_at(server.api_url):
                try:
                    yield server.api_url
                finally:
                    stop_client_services()
        finally:
            _forget(server)


def _forget(server: local_server.LocalServer) -> None:
    """Let go of the shared server's process handles in this worker (the run's end stops the server).

    A handle of a process still running warns when collected at exit; the server outlives the worker on purpose.
    """
    from flows import _processes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for pid in (server.pid, server.watchdog_pid):
            if pid:
                _processes.forget(pid)
        gc.collect()


def shared_server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Prefect home of the run's shared server: beside every xdist worker's temporary folder."""
    return _run_folder(tmp_path_factory) / "prefect-server"


def stop_shared_server(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Stop the run's shared Prefect server, if one was started (at the end of the run, in the xdist controller)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    home = shared_server_home(tmp_path_factory)
    if home.exists():
        local_server.stop(home, timeout=10)


def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temporary folder (``pytest-N/``), the same in the xdist controller and in every worker."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def migrated_prefect_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty Prefect database at Prefect's newest schema, made once per test run (xdist workers share it).

    A Prefect server that starts on a new home first migrates its database: about 5 s of CPU,
    half of its start. Tests of commands that start servers copy this one into the Prefect home
    they give the command (:func:`seed_prefect_home`), except where the first start is what they test.
    """
    shared = _run_folder(tmp_path_factory)
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
