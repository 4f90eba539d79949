"""The local Prefect server of one person's flow commands: started on first use, reused, stopped when idle.

Prefect's temporary per-process server costs each flow command ~20 s on a small machine. When no
Prefect API is configured, a flow command of ``qc`` calls :func:`using` instead, which

1. takes the start lock (``fcntl.flock`` on ``<folder>/lock``), so that two commands started at
   the same moment start one server;
2. reuses the server ``<folder>/state.json`` records if its process runs and ``GET /api/health``
   answers within :data:`HEALTH_TIMEOUT` seconds; otherwise ends what is left of it (a hung
   server's process group is killed; a stale state file, malformed or naming a dead pid, is
   replaced) and starts ``prefect server start`` on 127.0.0.1 and a free port, detached, with its
   home and SQLite database in the Prefect home (``.prefect`` beside the qc database), its log in
   ``<folder>/server.log``, and a watchdog (``python -m flows.local_server watch``, log
   ``<folder>/watchdog.log``);
3. holds a shared lock on ``<folder>/in-use`` while the command runs, and touches
   ``<folder>/last-use`` when it starts and ends.

The watchdog stops the server (SIGTERM to its process group, SIGKILL after 20 s) once nothing has
used it for the idle time (``$QC_PREFECT_IDLE_MINUTES``, default 15) and no command holds the
in-use lock; it exits when the server it watches is gone or replaced. ``<folder>`` is
``<Prefect home>/local-server``. Only the standard library is imported here: the watchdog stays small.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from flows._processes import alive, end_group, forget, launch
from qc.errors import StoreError

__all__ = [
    "DEFAULT_IDLE_MINUTES",
    "LocalServer",
    "folder_for",
    "idle_minutes",
    "read_state",
    "status",
    "stop",
    "using",
    "watch",
]

DEFAULT_IDLE_MINUTES = 15.0
HEALTH_TIMEOUT = 3.0
"""Seconds a running server has to answer ``/api/health`` (twice: once more, given 5 s, on a busy machine)
before it counts as hung and is replaced."""
STOP_TIMEOUT = 20.0
QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}
POLL_SECONDS = 5.0
"""How often the watchdog looks at most: a deleted folder or a dead server is noticed within it (a stat and a read)."""


@dataclass(frozen=True)
class LocalServer:
    """What ``state.json`` records about the local server."""

    pid: int
    port: int
    started_at: float
    idle_seconds: float
    watchdog_pid: int | None = None
    host: str = "127.0.0.1"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"


def folder_for(home: Path) -> Path:
    """Where the local server's state, locks and logs live: ``<Prefect home>/local-server``."""
    return Path(home).resolve() / "local-server"


def idle_minutes(environ: Mapping[str, str] = os.environ) -> float:
    """``$QC_PREFECT_IDLE_MINUTES`` (minutes, fractions allowed), else :data:`DEFAULT_IDLE_MINUTES`."""
    text = environ.get("QC_PREFECT_IDLE_MINUTES", "").strip()
    if not text:
        return DEFAULT_IDLE_MINUTES
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise StoreError(
            f"QC_PREFECT_IDLE_MINUTES must be a number of minutes above 0; got {text!r}",
            field="QC_PREFECT_IDLE_MINUTES",
        )
    return value


def read_state(folder: Path) -> LocalServer | None:
    """The recorded server, or None when there is no state file or it cannot be read (a stale file never blocks)."""
    try:
        data = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        return LocalServer(
            pid=int(data["pid"]),
            port=int(data["port"]),
            started_at=float(data["started_at"]),
            idle_seconds=float(data["idle_seconds"]),
            watchdog_pid=None if data.get("watchdog_pid") is None else int(data["watchdog_pid"]),
            host=str(data.get("host", "127.0.0.1")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(folder: Path, server: LocalServer) -> None:
    tmp = folder / "state.json.tmp"
    tmp.write_text(json.dumps({**asdict(server), "api_url": server.api_url}, indent=2), encoding="utf-8")
    tmp.replace(folder / "state.json")


@contextlib.contextmanager
def _locked(path: Path, mode: int) -> Iterator[IO[bytes]]:
    """``fcntl.flock(mode)`` on ``path`` for the block (released by the kernel if this process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        fcntl.flock(handle.fileno(), mode)
        try:
            yield handle
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _touch(folder: Path) -> None:
    (folder / "last-use").touch()


def last_use(folder: Path) -> float | None:
    """When a command last started or finished with the server (epoch seconds), if ever."""
    try:
        return (folder / "last-use").stat().st_mtime
    except OSError:
        return None


@contextlib.contextmanager
def using(
    home: Path,
    *,
    idle_minutes: float = DEFAULT_IDLE_MINUTES,
    timeout: float = 120,
    on_start: Callable[[Path], None] | None = None,
) -> Iterator[LocalServer]:
    """The running local server (started if needed), held in use for the block.

    ``on_start`` is called with the server's log file before a new server is started. Raises
    :class:`StoreError` (with the end of the server's log) when a new server does not answer
    within ``timeout`` seconds.
    """
    home = Path(home).resolve()
    folder = folder_for(home)
    with _locked(folder / "lock", fcntl.LOCK_EX):
        server = read_state(folder)
        if server is None or not _healthy(server):
            if server is not None:
                _end_server(folder, server)
            if on_start is not None:
                on_start(folder / "server.log")
            server = _start(home, folder, idle_minutes * 60, timeout)
        _touch(folder)
        in_use = (folder / "in-use").open("ab")
        fcntl.flock(in_use.fileno(), fcntl.LOCK_SH)
    try:
        yield server
    finally:
        _touch(folder)
        fcntl.flock(in_use.fileno(), fcntl.LOCK_UN)
        in_use.close()


def _healthy(server: LocalServer) -> bool:
    health = f"{server.api_url}/health"
    return alive(server.pid) and (
        http_ok(health, timeout=HEALTH_TIMEOUT) or (alive(server.pid) and http_ok(health, timeout=5.0))
    )


def _start(home: Path, folder: Path, idle_seconds: float, timeout: float) -> LocalServer:
    """Launch ``prefect server start`` and its watchdog, detached; return once the API answers."""
    (folder / "state.json").unlink(missing_ok=True)
    env = {
        **os.environ,
        **QUIET,
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    env.pop("PREFECT_API_URL", None)
    port = free_port()
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    pid = launch(command, env, folder / "server.log", cwd=home)
    server = LocalServer(pid=pid, port=port, started_at=time.time(), idle_seconds=idle_seconds)
    _write_state(folder, server)  # recorded at once, so that a failed start is cleaned up by the next command
    try:
        _wait_healthy(server, folder / "server.log", timeout)
        watcher = [sys.executable, "-m", "flows.local_server", "watch", str(home), str(pid), str(port)]
        server = LocalServer(**{**asdict(server), "watchdog_pid": launch(watcher, env, folder / "watchdog.log")})
        _write_state(folder, server)
    except BaseException:
        _end_server(folder, server)
        raise
    return server


def _wait_healthy(server: LocalServer, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(f"{server.api_url}/health", timeout=HEALTH_TIMEOUT):
            return
        if not alive(server.pid):
            raise StoreError(
                f"the local Prefect server (pid {server.pid}) exited while starting; end of {log}:\n{_tail(log)}\n"
                "Set QC_PREFECT_EPHEMERAL=1 to use Prefect's temporary per-command server instead",
                path=str(log),
            )
        time.sleep(0.25)
    raise StoreError(
        f"the local Prefect server did not answer {server.api_url}/health within {timeout:.0f} s; end of {log}:\n"
        f"{_tail(log)}\nRaise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS on a slow machine, or set "
        "QC_PREFECT_EPHEMERAL=1 to use Prefect's temporary per-command server",
        path=str(log),
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, *, timeout: float) -> bool:
    """Whether a GET of ``url`` answers 2xx within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _is_server(pid: int, port: int) -> bool:
    """Whether ``pid`` is still the ``prefect server start --port port`` it was (a reused pid is left alone)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            argv = subprocess.run(
                ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, check=False, timeout=5
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            return False
    return b"prefect" in argv and str(port).encode() in argv


def _is_watchdog(pid: int, server_pid: int) -> bool:
    """Whether ``pid`` is the watchdog of ``server_pid`` (a reused pid is left alone)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"flows.local_server" in argv and str(server_pid).encode() in argv


def _end_server(folder: Path, server: LocalServer, timeout: float = STOP_TIMEOUT) -> str:
    """End the recorded server (if that pid is still it) and its watchdog; remove the state file."""
    outcome = "not running"
    if alive(server.pid) and _is_server(server.pid, server.port):
        outcome = end_group(server.pid, timeout)
    forget(server.pid)
    watchdog = server.watchdog_pid
    if watchdog is not None and watchdog != os.getpid() and alive(watchdog) and _is_watchdog(watchdog, server.pid):
        end_group(watchdog, 5)
    current = read_state(folder)
    if current is None or current.pid == server.pid:
        (folder / "state.json").unlink(missing_ok=True)
    return outcome


def stop(home: Path, *, timeout: float = STOP_TIMEOUT) -> tuple[LocalServer, str] | None:
    """Stop the local server now (under the start lock): the server and ``stopped``/``killed``/``not running``."""
    folder = folder_for(home)
    if not folder.exists():
        return None
    with _locked(folder / "lock", fcntl.LOCK_EX):
        server = read_state(folder)
        if server is None:
            return None
        return server, _end_server(folder, server, timeout)


def status(home: Path) -> dict[str, Any] | None:
    """The recorded server: pid, port, API URL, whether it runs and answers, seconds idle, idle limit; or None."""
    folder = folder_for(home)
    server = read_state(folder)
    if server is None:
        return None
    used = last_use(folder)
    running = alive(server.pid)
    return {
        **asdict(server),
        "api_url": server.api_url,
        "running": running,
        "healthy": running and http_ok(f"{server.api_url}/health", timeout=HEALTH_TIMEOUT),
        "idle_seconds_now": None if used is None else max(0.0, time.time() - used),
        "log": str(folder / "server.log"),
    }


def watch(home: Path, server_pid: int, port: int) -> str:
    """The watchdog loop: stop server ``server_pid`` (on ``port``) once idle; return why the loop ended.

    A server whose state file is gone or names another server (the folder was deleted) is
    stopped at once, so that nothing keeps running that no command can find.
    """
    folder = folder_for(home)
    told = False
    while True:
        server = read_state(folder)
        if server is None or server.pid != server_pid:
            if alive(server_pid) and _is_server(server_pid, port):
                return f"no state file records pid {server_pid}: {end_group(server_pid, STOP_TIMEOUT)} it"
            return "the server was stopped or replaced by a command"
        if not alive(server_pid):
            return "the server exited"
        idle = time.time() - (last_use(folder) or server.started_at)
        if idle >= server.idle_seconds:
            if _stop_if_idle(folder, server):
                return f"stopped the server after {idle:.0f} s idle"
            if not told:  # once: a command holds the server (or used it a moment ago)
                _say(f"idle time reached but the server is in use (pid {server_pid}): not stopping it")
                told = True
        time.sleep(min(POLL_SECONDS, max(0.2, server.idle_seconds / 10)))


def _stop_if_idle(folder: Path, server: LocalServer) -> bool:
    """Under the start lock and only if no command holds the in-use lock: stop the server."""
    with _locked(folder / "lock", fcntl.LOCK_EX), (folder / "in-use").open("ab") as in_use:
        try:
            fcntl.flock(in_use.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a command is using the server right now
        try:
            current = read_state(folder)
            idle = time.time() - (last_use(folder) or server.started_at)
            if current is None or current.pid != server.pid or idle < server.idle_seconds:
                return False
            _end_server(folder, current)
            return True
        finally:
            fcntl.flock(in_use.fileno(), fcntl.LOCK_UN)


def main(argv: list[str]) -> int:
    """``python -m flows.local_server watch HOME SERVER_PID``."""
    if len(argv) != 4 or argv[0] != "watch":
        print("usage: python -m flows.local_server watch PREFECT_HOME SERVER_PID PORT", file=sys.stderr)  # noqa: T201
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _say(f"watching pid {argv[2]}")
    _say(watch(Path(argv[1]), int(argv[2]), int(argv[3])))
    return 0


def _say(line: str) -> None:
    """One line of the watchdog's log."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", flush=True)  # noqa: T201


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
