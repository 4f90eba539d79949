"""The local Prefect server of flow commands (issue 15 item 1): what goes wrong between two commands.

A server that died, hangs, or left a stale or cut-short state file is replaced, not fatal; a
server whose folder was deleted stops. Helpers in :mod:`tests.support.local_servers`.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from flows import local_server
from tests.support.local_servers import (
    Home,
    engine,
    home,
    score,
    server_processes,
    until,
    url,
)

__all__ = ["engine", "home", "url"]

pytestmark = pytest.mark.slow


def test_a_broken_dead_or_hung_server_is_replaced_and_a_deleted_folder_stops_it(
    url: str, tmp_path: Path, home: Home
) -> None:
    """One command after each mishap, on one chain of servers (each start costs 5 s of CPU)."""
    home.folder.mkdir(parents=True)  # a state file cut short (a full disk, a crash while writing)
    (home.folder / "state.json").write_text("{half a state file")
    assert "starting a local Prefect server" in score(url, tmp_path)
    first = home.state()
    assert first is not None and local_server.alive(first.pid)

    os.kill(first.pid, signal.SIGKILL)  # the server died between two commands: its state file is stale
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

    shutil.rmtree(home.path)  # e.g. the user removed the output folder: no command could find this server again
    until(lambda: not local_server.alive(third.pid), "the watchdog to stop the server")
    assert server_processes(home) == []
