"""Detached child processes of ``qc server`` and the local Prefect server: start, check, end (standard library only).

Each child starts in a session of its own (it outlives the command that started it, and its
process group can be signalled whole); children of this process are polled, so one that exits
is reaped instead of left a zombie.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

__all__ = ["alive", "end_group", "forget", "launch", "signal_group"]

_children: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this process started (polled, so that a child that exits is reaped, not left a zombie)."""


def launch(command: list[str], env: Mapping[str, str], log: Path, cwd: Path | None = None) -> int:
    """Start ``command`` in a session of its own, output appended to ``log`` after a line naming it; its pid."""
    with log.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(
            command,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )
    _children[process.pid] = process
    return process.pid


def forget(pid: int) -> None:
    """Stop tracking ``pid`` (it was ended)."""
    _children.pop(pid, None)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a child of this process that exited is reaped and does not count, nor a zombie)."""
    if pid <= 0:
        return False
    if pid in _children:
        return _children[pid].poll() is None
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def end_group(pid: int, timeout: float) -> str:
    """SIGTERM the process group ``pid`` leads, SIGKILL after ``timeout`` s: ``stopped`` or ``killed``.

    A SIGCONT follows the SIGTERM, so that a stopped (SIGSTOP, suspended) process ends at once too;
    once the leader is gone, whatever it left in its group (flow-run subprocesses) is killed.
    """
    signal_group(pid, signal.SIGTERM)
    signal_group(pid, signal.SIGCONT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            signal_group(pid, signal.SIGKILL)
            return "stopped"
        time.sleep(0.1)
    signal_group(pid, signal.SIGKILL)
    while alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)
    return "killed"


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group ``pid`` leads (each child was started in a new session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
