"""Team mode on one machine: start, stop and report the processes of ``qc server start|stop|status``.

``start`` launches three processes, each in its own process group, logging to
``<state dir>/<name>.log``:

1. ``prefect server start`` on ``host:prefect_port`` with its own database: SQLite
   ``<state dir>/prefect/prefect.db``, or PostgreSQL when ``PREFECT_API_DATABASE_CONNECTION_URL``
   is set (its home is ``<state dir>/prefect``);
2. ``python -m flows.serve``: qc's deployments (:mod:`flows.serve`), ``PREFECT_API_URL``
   pointing at that server;
3. ``python -m qc.cli review serve`` on ``host:web_port``: the review web page (a finished review starts
   the close of its round through the server).

The state dir is ``.qc-server`` beside a SQLite qc database (in the working folder for
PostgreSQL); ``state.json`` there records pids and ports (no passwords: the children get the
database URL through ``QC_DATABASE_URL``). ``stop`` sends SIGTERM to each process group,
waits, and SIGKILLs what is left after the timeout.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flows._processes import alive, end_group, forget, launch
from qc.errors import ConflictError, StoreError
from qc.store import db

__all__ = ["ServerState", "free_port", "read_state", "start", "state_dir", "status", "stop"]

PROCESSES = ("prefect", "serve", "web")
"""The processes this process started (kept so that they are polled, not dropped while they run)."""
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "INFO"}


@dataclass(frozen=True)
class ServerState:
    """What ``state.json`` records about a running team server."""

    host: str
    prefect_port: int
    web_port: int | None
    pids: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.prefect_port}/api"

    @property
    def web_url(self) -> str | None:
        return f"http://{self.host}:{self.web_port}" if self.web_port else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "api_url": self.api_url, "web_url": self.web_url}


def state_dir(url: str) -> Path:
    """``.qc-server`` beside a SQLite database file, else in the working folder."""
    resolved = db.resolve_url(url)
    if resolved.get_backend_name() == "sqlite" and resolved.database and resolved.database != ":memory:":
        return Path(resolved.database).resolve().parent / ".qc-server"
    return Path.cwd() / ".qc-server"


def read_state(url: str) -> ServerState | None:
    path = state_dir(url) / "state.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return ServerState(data["host"], data["prefect_port"], data["web_port"], data["pids"], data["started_at"])


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start(
    url: str,
    *,
    host: str = "127.0.0.1",
    prefect_port: int = 4200,
    web_port: int | None = 8000,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> ServerState:
    """Start the Prefect server, the deployments' serve process and (unless ``web_port`` is None) the web page.

    Returns once the API answers ``/api/health``, the ``close-round/qc`` deployment exists and
    the web page answers; a process that exits or a wait past ``timeout`` seconds stops the
    others and raises :class:`StoreError` with the end of that process's log.
    """
    folder = state_dir(url)
    running = read_state(url)
    if running is not None and any(alive(pid) for pid in running.pids.values()):
        raise ConflictError(f"a qc server already runs from {folder} (pids {running.pids}); run qc server stop first")
    (folder / "prefect").mkdir(parents=True, exist_ok=True)
    state = ServerState(host, prefect_port, web_port, {}, time.time())
    base = {**os.environ, **QUIET, "QC_DATABASE_URL": url, **(env or {})}
    base.setdefault("PREFECT_HOME", str(folder / "prefect"))
    base.setdefault("PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{folder / 'prefect' / 'prefect.db'}")
    child = {**base, "PREFECT_API_URL": state.api_url}
    child.pop("PREFECT_API_DATABASE_CONNECTION_URL")  # only the server talks to its database
    python = sys.executable
    commands = {
        "prefect": ([python, "-m", "prefect", "server", "start", "--host", host, "--port", str(prefect_port)], base),
        "serve": ([python, "-m", "flows.serve"], child),
        "web": ([python, "-m", "qc.cli", "review", "serve", "--host", host, "--port", str(web_port)], child),
    }
    checks = {
        "prefect": f"{state.api_url}/health",
        "serve": f"{state.api_url}/deployments/name/close-round/qc",
        "web": f"{state.web_url}/login",
    }
    try:
        for name in PROCESSES if web_port else PROCESSES[:2]:
            state.pids[name] = _launch(folder, name, *commands[name])
            _write_state(folder, state)
            _wait_http(checks[name], state.pids[name], folder / f"{name}.log", timeout)
    except BaseException:
        stop(url)
        raise
    return state


def _launch(folder: Path, name: str, command: list[str], env: Mapping[str, str]) -> int:
    return launch(command, env, folder / f"{name}.log", cwd=folder)


def _write_state(folder: Path, state: ServerState) -> None:
    tmp = folder / "state.json.tmp"
    tmp.write_text(json.dumps(state.to_dict(), indent=2))
    tmp.replace(folder / "state.json")


def _wait_http(url: str, pid: int, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(url):
            return
        if not alive(pid):
            raise StoreError(f"process {pid} exited while starting; end of {log}:\n{_tail(log)}")
        time.sleep(0.5)
    raise StoreError(f"{url} did not answer within {timeout:.0f} s; end of {log}:\n{_tail(log)}")


def http_ok(url: str, *, timeout: float = 2) -> bool:
    """Whether a GET of ``url`` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def stop(url: str, *, timeout: float = 20) -> dict[str, str]:
    """SIGTERM each recorded process group (web, serve, prefect), SIGKILL after ``timeout`` s; remove the state.

    Returns ``{name: "stopped" | "killed" | "not running"}``.
    """
    folder = state_dir(url)
    state = read_state(url)
    if state is None:
        return {}
    out = {}
    for name in reversed(PROCESSES):
        pid = state.pids.get(name)
        if pid is not None:
            out[name] = _end(pid, timeout)
            forget(pid)
    (folder / "state.json").unlink(missing_ok=True)
    return out


def _end(pid: int, timeout: float) -> str:
    return end_group(pid, timeout) if alive(pid) else "not running"


def status(url: str) -> dict[str, Any]:
    """The recorded processes, whether each runs, and whether the API and web page answer."""
    state = read_state(url)
    if state is None:
        return {"running": False, "state_dir": str(state_dir(url))}
    processes = {name: {"pid": pid, "alive": alive(pid)} for name, pid in state.pids.items()}
    return {
        **state.to_dict(),
        "running": all(p["alive"] for p in processes.values()),
        "state_dir": str(state_dir(url)),
        "processes": processes,
        "api_healthy": http_ok(f"{state.api_url}/health"),
        "web_healthy": http_ok(f"{state.web_url}/login") if state.web_url else None,
    }
