"""``qc server start|stop|status``: team mode on one machine (the processes are :mod:`flows.server`'s)."""

from __future__ import annotations

import typer

from qc.cli._common import DB_OPTION, console, database_url, failures, open_session

__all__ = ["server_app"]

server_app = typer.Typer(
    help="Team mode: the Prefect server, qc's deployments and the review page.", no_args_is_help=True
)


@server_app.command("start")
def start_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    prefect_port: int = typer.Option(4200, "--prefect-port", help="Prefect API and UI port."),
    web_port: int = typer.Option(8000, "--web-port", help="Review page port."),
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
    """Stop the processes `qc server start` started."""
    from flows.server import stop

    ended = stop(database_url(url), timeout=timeout)
    console.print(", ".join(f"{k}: {v}" for k, v in ended.items()) if ended else "no qc server recorded")


@server_app.command("status")
def status_command(url: str | None = DB_OPTION) -> None:
    """Which processes run and whether the API and the review page answer (exit 1 when not all run)."""
    from flows.server import status

    info = status(database_url(url))
    if "processes" not in info:
        console.print(f"no qc server recorded in {info['state_dir']}", markup=False)
        raise typer.Exit(code=1)
    for name, proc in info["processes"].items():
        console.print(f"{name}: pid {proc['pid']} {'running' if proc['alive'] else 'NOT running'}", markup=False)
    console.print(f"API {info['api_url']}: {'healthy' if info['api_healthy'] else 'not answering'}", markup=False)
    if info["web_url"]:
        console.print(f"web {info['web_url']}: {'healthy' if info['web_healthy'] else 'not answering'}", markup=False)
    if not info["running"]:
        raise typer.Exit(code=1)
