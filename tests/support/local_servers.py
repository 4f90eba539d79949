"""Helpers of the local Prefect server's tests (``tests/cli/test_local_server*.py``): real processes and servers.

Each test runs ``python -m qc.cli`` in subprocesses on a SQLite database in its temporary folder,
with no Prefect API configured, so that the commands start (or reuse) the local server in
``<tmp>/.prefect``. The ``home`` fixture stops every server and watchdog the test saw, whatever happens;
it holds a copy of an already migrated Prefect database (a server that migrates a new one spends
twice the CPU on its start), but for ``new_home``'s test, where the first start migrates.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from flows import local_server
from tests.support.prefect import seed_prefect_home
from tests.support.rounds import engine, setup_round

__all__ = [
    "WAIT",
    "Home",
    "engine",
    "environment",
    "finished",
    "flow_runs",
    "home",
    "new_home",
    "qc",
    "score",
    "server_processes",
    "until",
    "url",
]

WAIT = 180.0  # seconds a condition may take on a loaded 2-core machine (a bound, not a measurement)


class Home:
    """The Prefect home beside the test's database, and every server and watchdog pid seen in its state file."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".prefect"
        self.folder = local_server.folder_for(self.path)
        self.seen: set[int] = set()

    def state(self) -> local_server.LocalServer | None:
        server = local_server.read_state(self.folder)
        if server is not None:
            self.seen.update(p for p in (server.pid, server.watchdog_pid) if p)
        return server

    def log(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def home(tmp_path: Path, migrated_prefect_database: Path) -> Iterator[Home]:
    seed_prefect_home(tmp_path / ".prefect", migrated_prefect_database)
    yield from _stopping_servers(Home(tmp_path))


@pytest.fixture
def new_home(tmp_path: Path) -> Iterator[Home]:
    """A Prefect home without a database: the first server's start migrates one."""
    yield from _stopping_servers(Home(tmp_path))


def _stopping_servers(where: Home) -> Iterator[Home]:
    try:
        yield where
    finally:
        where.state()
        local_server.stop(where.path, timeout=10)
        for pid in where.seen:  # servers replaced during the test were ended by the command; make sure
            if local_server.alive(pid):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def url(engine: Engine, tmp_path: Path) -> str:
    """A round with nothing delivered, so ``round score`` runs a real flow that scores nothing."""
    setup_round(engine, images=2)
    engine.dispose()
    return f"sqlite:///{tmp_path / 'qc.db'}"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME", "QC_PREFECT_EPHEMERAL")}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", **extra}


def qc(*args: str, cwd: Path, **extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "qc.cli", *args]
    return subprocess.Popen(
        command, cwd=cwd, env=environment(**extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finished(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=WAIT)
    assert process.returncode == 0, out
    return out


def score(url: str, cwd: Path, **extra: str) -> str:
    return finished(qc("round", "score", "1", "--workers", "1", "--db", url, cwd=cwd, **extra))


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def server_processes(home: Home) -> list[int]:
    """Pids of the ``prefect server start`` processes whose Prefect home is ``home``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"prefect" in argv and b"server" in argv and f"PREFECT_HOME={home.path}".encode() in environ:
            found.append(int(proc.name))
    return found


def flow_runs(api: str) -> list[dict[str, object]]:
    request = urllib.request.Request(
        f"{api}/flow_runs/filter", data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return list(json.loads(response.read()))
