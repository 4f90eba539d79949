"""``qc server start|stop|status``: team mode on one machine (the processes are :mod:`flows.server`'s).

``stop`` and ``status`` also cover the local Prefect server that flow commands start on first
use when no server is configured (:mod:`flows.local_server`).
"""

from __future__ import annotations

import typer

from qc.cli._common import DB_OPTION, console, database_url, failures, open_session, prefect_home

__all__ = ["server_app"]

server_app = typer.Typer(
    help="Team mode: the Prefect server, qc's deployments and the review page (stop and status also cover the "
    "local Prefect server of flow commands).",
    no_args_is_help=True,
)


@server_app.command("start")
def start_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    prefect_port: int = typer.Option(4200, "--prefect-port", min=1, max=65535, help="Prefect API and UI port."),
    web_port: int = typer.Option(8000, "--web-port", min=1, max=65535, help="Review page port."),
    no_web: bool = typer.Option(False, "--no-web", help="Do not serve the review page."),
    timeout: float = typer.Option(120, "--timeout", help="Seconds to wait for each process to answer."),
    url: str | None = DB_OPTION,
) -> None:
    """Start the Prefect server, the deployments and the review page in the background."""
    from flows.server import start

    with failures():
        with open_session(url, write=False):
            pass  # the schema is current
        served = None if no_web else web_port
        state = start(database_url(url), host=host, prefect_port=prefect_port, web_port=served, timeout=timeout)
    console.print(f"Prefect API: {state.api_url} (UI: http://{host}:{prefect_port})", markup=False)
    if state.web_url:
        console.print(f"review page: {state.web_url}", markup=False)
    console.print(f"use it from other shells with: export PREFECT_API_URL={state.api_url}", markup=False)


@server_app.command("stop")
def stop_command(
    timeout: float = typer.Option(20, "--timeout", help="Seconds after SIGTERM before SIGKILL."),
    url: str | None = DB_OPTION,
) -> None:
    """Stop the processes `qc server start` started, and the local Prefect server of flow commands."""
    from flows import local_server
    from flows.server import stop

    target = database_url(url)
    local = local_server.stop(prefect_home(target), timeout=timeout)
    if local is not None:
        server, outcome = local
        console.print(f"local Prefect server (pid {server.pid}, port {server.port}): {outcome}", markup=False)
    ended = stop(target, timeout=timeout)
    if ended or local is None:
        console.print(", ".join(f"{k}: {v}" for k, v in ended.items()) if ended else "no qc server recorded")


@server_app.command("status")
def status_command(url: str | None = DB_OPTION) -> None:
    """Which processes run and whether the API and the review page answer (exit 1 when not all run).

    The local Prefect server of flow commands is shown too (pid, port, idle time); when it is
    the only server, the exit code says whether it runs.
    """
    from flows import local_server
    from flows.server import status

    target = database_url(url)
    local = local_server.status(prefect_home(target))
    if local is not None:
        idle = local["idle_seconds_now"]
        state = ("answering" if local["healthy"] else "not answering") if local["running"] else "NOT running"
        console.print(
            f"local Prefect server: pid {local['pid']}, port {local['port']}, {local['api_url']} {state}; "
            + (f"idle {_minutes(idle)}" if idle is not None else "not used yet")
            + f" (stops after {_minutes(local['idle_seconds'])} idle)",
            markup=False,
        )
    info = status(target)
    if "processes" not in info:
        console.print(f"no qc server recorded in {info['state_dir']}", markup=False)
        raise typer.Exit(code=0 if local is not None and local["running"] else 1)
    for name, proc in info["processes"].items():
        console.print(f"{name}: pid {proc['pid']} {'running' if proc['alive'] else 'NOT running'}", markup=False)
    console.print(f"API {info['api_url']}: {'healthy' if info['api_healthy'] else 'not answering'}", markup=False)
    if info["web_url"]:
        console.print(f"web {info['web_url']}: {'healthy' if info['web_healthy'] else 'not answering'}", markup=False)
    if not info["running"]:
        raise typer.Exit(code=1)


def _minutes(seconds: float) -> str:
    """``42 s`` under a minute, else ``3.5 min``.

    >>> _minutes(42.4), _minutes(210)
    ('42 s', '3.5 min')
    """
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"
