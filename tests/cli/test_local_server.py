"""The local Prefect server of flow commands (issue 15 item 1): shared, stopped when idle, with real processes.

Helpers and fixtures in :mod:`tests.support.local_servers`; the recovery cases (a dead, hung or
stale server; a deleted folder) are in ``test_local_server_recovery.py``, so that xdist runs the
two files side by side.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows import local_server
from tests.support.local_servers import (
    WAIT,
    Home,
    engine,
    environment,
    finished,
    flow_runs,
    home,
    new_home,
    qc,
    server_processes,
    until,
    url,
)

__all__ = ["engine", "home", "new_home", "url"]

pytestmark = pytest.mark.slow


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


def test_two_commands_started_at_once_share_one_server(url: str, tmp_path: Path, new_home: Home) -> None:
    """And, on the same server (a start costs 5 s of CPU): the API is set for ``prefect_api``'s block only."""
    home = new_home
    first = qc("round", "score", "1", "--workers", "1", "--db", url, cwd=tmp_path, QC_PREFECT_IDLE_MINUTES="5")
    second = qc("round", "score", "1", "--workers", "1", "--db", url, cwd=tmp_path, QC_PREFECT_IDLE_MINUTES="5")
    outputs = [finished(first), finished(second)]
    assert all("scored 0 images" in out for out in outputs)
    assert sum("starting a local Prefect server" in out for out in outputs) == 1
    server = home.state()
    assert server is not None and server.idle_seconds == 300.0  # the starting command's $QC_PREFECT_IDLE_MINUTES
    assert server_processes(home) == [server.pid]
    assert home.log("server.log").count("prefect server start") == 1
    runs = flow_runs(server.api_url)  # both runs are real flow runs, listed by the server
    assert sorted(str(run["state_type"]) for run in runs) == ["COMPLETED", "COMPLETED"]
    failing = qc("round", "score", "99", "--workers", "1", "--db", url, cwd=tmp_path)
    out, _ = failing.communicate(timeout=WAIT)  # a command that loaded Prefect still exits with its error's code
    assert failing.returncode == 1 and "no round with id 99" in out

    # Inside ``prefect_api`` Prefect reports to the local server, without flow-run heartbeats; after it, as before.
    command = [sys.executable, "-c", PROBE, url]
    probe = subprocess.run(command, cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=WAIT)
    assert probe.returncode == 0, probe.stderr
    inside, after = probe.stdout.splitlines()[-2:]
    assert inside.split() == [server.api_url, server.api_url, server.api_url, "None"]  # api, env, settings, heartbeat
    assert after.split() == ["False", "None", "180"]
    assert home.state() == server  # reused, not replaced

    status = finished(qc("server", "status", "--db", url, cwd=tmp_path))
    assert f"local Prefect server: pid {server.pid}, port {server.port}" in status and "answering" in status
    stopped = finished(qc("server", "stop", "--db", url, cwd=tmp_path))
    assert f"local Prefect server (pid {server.pid}, port {server.port}): stopped" in stopped
    assert server_processes(home) == [] and home.state() is None
    until(lambda: server.watchdog_pid is not None and not local_server.alive(server.watchdog_pid), "the watchdog")


def test_the_server_stops_after_the_idle_time_but_not_while_in_use(tmp_path: Path, home: Home) -> None:
    """One server: held past its idle time (3 s) it stays; released, it stops by itself.

    (Flow commands hold it the same way, through :func:`flows.local_server.using`; a command's
    ``$QC_PREFECT_IDLE_MINUTES`` reaching the server is checked above.)
    """
    with local_server.using(home.path, idle_minutes=0.05) as held:  # a command that runs past the idle time
        assert home.state() == held and held.idle_seconds == 3.0
        until(lambda: f"in use (pid {held.pid})" in home.log("watchdog.log"), "the watchdog to see it in use")
        assert local_server.alive(held.pid) and local_server.http_ok(f"{held.api_url}/health", timeout=10)
    until(lambda: not local_server.alive(held.pid) and home.state() is None, "the server to stop once released")
    # the watchdog writes why it stopped once the server is gone and its state file removed: wait for the line
    until(lambda: "stopped the server after" in home.log("watchdog.log"), "the watchdog to say why it stopped")
    assert server_processes(home) == []


OPT_OUT = """
import os, sys
from qc.cli._common import prefect_api
with prefect_api(sys.argv[1]) as api:
    print(api, os.environ.get("PREFECT_API_URL"))
"""


def test_opting_out_keeps_prefects_temporary_server(url: str, tmp_path: Path, home: Home) -> None:
    """``QC_PREFECT_EPHEMERAL=1``: qc sets no API and starts no server, so Prefect starts its temporary one per run."""
    done = subprocess.run(
        [sys.executable, "-c", OPT_OUT, url],
        cwd=tmp_path,
        env=environment(QC_PREFECT_EPHEMERAL="1"),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]
    assert not home.folder.exists() and server_processes(home) == []
