"""The local Prefect server of flow commands (issue 15 item 1), with real ``qc`` processes and real servers.

Each test runs ``python -m qc.cli`` in subprocesses on a SQLite database in its temporary folder,
with no Prefect API configured, so that the commands start (or reuse) the local server in
``<tmp>/.prefect``. The ``home`` fixture stops every server and watchdog the test saw, whatever happens;
it holds a copy of an already migrated Prefect database (a server that migrates a new one spends
twice the CPU on its start), but for ``new_home``'s test, where the first start migrates.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
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

__all__ = ["engine"]

pytestmark = pytest.mark.slow

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


def test_two_commands_started_at_once_share_one_server(url: str, tmp_path: Path, new_home: Home) -> None:
    home = new_home
    first = qc("round", "score", "1", "--workers", "1", "--db", url, cwd=tmp_path)
    second = qc("round", "score", "1", "--workers", "1", "--db", url, cwd=tmp_path)
    outputs = [finished(first), finished(second)]
    assert all("scored 0 images" in out for out in outputs)
    assert sum("starting a local Prefect server" in out for out in outputs) == 1
    server = home.state()
    assert server is not None
    assert server_processes(home) == [server.pid]
    assert home.log("server.log").count("prefect server start") == 1
    runs = flow_runs(server.api_url)  # both runs are real flow runs, listed by the server
    assert sorted(str(run["state_type"]) for run in runs) == ["COMPLETED", "COMPLETED"]
    failing = qc("round", "score", "99", "--workers", "1", "--db", url, cwd=tmp_path)
    out, _ = failing.communicate(timeout=WAIT)  # a command that loaded Prefect still exits with its error's code
    assert failing.returncode == 1 and "no round with id 99" in out
    status = finished(qc("server", "status", "--db", url, cwd=tmp_path))
    assert f"local Prefect server: pid {server.pid}, port {server.port}" in status and "answering" in status
    stopped = finished(qc("server", "stop", "--db", url, cwd=tmp_path))
    assert f"local Prefect server (pid {server.pid}, port {server.port}): stopped" in stopped
    assert server_processes(home) == [] and home.state() is None
    until(lambda: server.watchdog_pid is not None and not local_server.alive(server.watchdog_pid), "the watchdog")


def test_a_dead_hung_or_stale_server_is_replaced_not_fatal(url: str, tmp_path: Path, home: Home) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    home.folder.mkdir(parents=True)
    stale = local_server.LocalServer(pid=gone.pid, port=local_server.free_port(), started_at=0, idle_seconds=900)
    (home.folder / "state.json").write_text(json.dumps(dataclasses.asdict(stale)))
    assert "starting a local Prefect server" in score(url, tmp_path)
    first = home.state()
    assert first is not None and first.pid != gone.pid

    os.kill(first.pid, signal.SIGKILL)  # the server died between two commands
    until(lambda: not local_server.alive(first.pid), "the killed server to go")
    assert "scored 0 images" in score(url, tmp_path)
    second = home.state()
    assert second is not None and second.pid != first.pid
    assert server_processes(home) == [second.pid]
    until(lambda: first.watchdog_pid is not None and not local_server.alive(first.watchdog_pid), "the old watchdog")

    os.kill(second.pid, signal.SIGSTOP)  # hung: alive, but /api/health does not answer
    assert "scored 0 images" in score(url, tmp_path)
    third = home.state()
    assert third is not None and third.pid not in (first.pid, second.pid)
    assert server_processes(home) == [third.pid]

    os.killpg(third.pid, signal.SIGKILL)  # and a state file cut short (a full disk, a crash while writing)
    (home.folder / "state.json").write_text("{half a state file")
    assert "scored 0 images" in score(url, tmp_path)
    fourth = home.state()
    assert fourth is not None and fourth.pid != third.pid


def test_the_server_stops_after_the_idle_time_but_not_while_in_use(url: str, tmp_path: Path, home: Home) -> None:
    score(url, tmp_path, QC_PREFECT_IDLE_MINUTES="0.05")  # 3 s
    first = home.state()
    assert first is not None and first.idle_seconds == 3.0
    until(lambda: not local_server.alive(first.pid) and home.state() is None, "the idle server to stop")
    assert "stopped the server after" in home.log("watchdog.log")
    assert server_processes(home) == []

    with local_server.using(home.path, idle_minutes=0.05) as held:  # a command that runs past the idle time
        home.state()
        until(lambda: f"in use (pid {held.pid})" in home.log("watchdog.log"), "the watchdog to see it in use")
        assert local_server.alive(held.pid) and local_server.http_ok(f"{held.api_url}/health", timeout=10)
    until(lambda: not local_server.alive(held.pid) and home.state() is None, "the server to stop once released")


def test_a_server_whose_folder_was_deleted_stops(url: str, tmp_path: Path, home: Home) -> None:
    score(url, tmp_path)
    server = home.state()
    assert server is not None and local_server.alive(server.pid)
    shutil.rmtree(home.path)  # e.g. the user removed the output folder: no command could find this server again
    until(lambda: not local_server.alive(server.pid), "the watchdog to stop the server")
    assert server_processes(home) == []


def test_opting_out_keeps_prefects_temporary_server(url: str, tmp_path: Path, home: Home) -> None:
    out = score(url, tmp_path, QC_PREFECT_EPHEMERAL="1")
    assert "scored 0 images" in out and "local Prefect server" not in out
    assert not home.folder.exists() and server_processes(home) == []


PROBE = """
import os, sys
from prefect.settings import get_current_settings
from qc.cli._common import prefect_api
def now():
    return get_current_settings().api.url, get_current_settings().flows.heartbeat_frequency
with prefect_api(sys.argv[1]) as api:
    print(api, os.environ["PREFECT_API_URL"], *now())
print("PREFECT_API_URL" in os.environ, *now())
"""


def test_the_api_is_set_for_the_block_only(url: str, tmp_path: Path, home: Home) -> None:
    """Inside ``prefect_api`` Prefect reports to the local server, without flow-run heartbeats; after it, as before."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, url],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    server = home.state()
    assert server is not None
    inside, after = done.stdout.splitlines()[-2:]
    assert inside.split() == [server.api_url, server.api_url, server.api_url, "None"]  # api, env, settings, heartbeat
    assert after.split() == ["False", "None", "180"]
