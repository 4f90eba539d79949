"""``qc schedule list|add|remove``: the schedules of qc's deployments on the team's Prefect server.

The server is ``$PREFECT_API_URL``, else the one ``qc server start`` recorded beside the
database. ``add`` takes exactly one of ``--cron`` (with ``--timezone``), ``--every SECONDS``
or ``--at TIME`` (ISO 8601; one run: a flow run scheduled for that time, e.g. a round that
opens on Monday 08:00); ``--param KEY=VALUE`` (VALUE parsed as JSON when it parses, else
text) sets the flow's parameters for that schedule or run. ``remove`` takes a schedule id or a
scheduled flow run id, as ``list`` shows them. The work is :mod:`flows.schedules`'s.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer

from qc.cli._common import DB_OPTION, console, failures
from qc.errors import InvalidOptionError

__all__ = ["parse_params", "schedule_app"]

schedule_app = typer.Typer(help="Scheduled work on the team server: list, add, remove.", no_args_is_help=True)


@schedule_app.command("list")
def list_command(url: str | None = DB_OPTION) -> None:
    """Each deployment with its schedules and scheduled runs."""
    from flows.schedules import api_url, list_schedules

    with failures():
        rows = list_schedules(api_url(url))
    for row in rows:
        console.print(f"{row['deployment']}", markup=False)
        for s in row["schedules"]:
            state = "active" if s["active"] else "paused"
            console.print(f"  schedule {s['id']}: {s['schedule']} ({state}) {s['parameters']}", markup=False)
        for r in row["scheduled_runs"]:
            console.print(f"  run {r['id']} at {r['at']} {r['parameters']}", markup=False)


@schedule_app.command("add")
def add_command(
    deployment: str = typer.Argument(..., help="open-round, watch-folder, weekly-report, close-round or report."),
    cron: str | None = typer.Option(None, "--cron", help='Cron line, e.g. "0 7 * * 1" (Mondays 07:00).'),
    every: float | None = typer.Option(None, "--every", help="Interval in seconds, e.g. 300."),
    at: datetime | None = typer.Option(None, "--at", help="One run at this time (ISO 8601; UTC unless it says)."),
    timezone: str = typer.Option("UTC", "--timezone", help="Time zone of --cron."),
    param: list[str] = typer.Option([], "--param", help="KEY=VALUE parameter (repeatable)."),
    url: str | None = DB_OPTION,
) -> None:
    """Add a schedule (--cron or --every) or one scheduled run (--at) to a deployment."""
    from flows.schedules import add_schedule, api_url

    with failures():
        parameters = parse_params(param)
        added = add_schedule(
            api_url(url), deployment, cron=cron, every=every, at=at, timezone=timezone, parameters=parameters
        )
    console.print(json.dumps(added), markup=False)


@schedule_app.command("remove")
def remove_command(
    deployment: str = typer.Argument(..., help="The deployment (e.g. watch-folder)."),
    schedule_id: str = typer.Argument(..., help="Schedule id or scheduled flow run id (qc schedule list)."),
    url: str | None = DB_OPTION,
) -> None:
    """Remove a schedule or a scheduled run."""
    from flows.schedules import api_url, deployment_name, remove_schedule

    with failures():
        what = remove_schedule(api_url(url), deployment, schedule_id)
    console.print(f"removed {what} {schedule_id} of {deployment_name(deployment)}", markup=False)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` to parameters; a value is JSON when it parses (``3``, ``["a","b"]``), else text.

    >>> parse_params(["round_id=3", "folder=/in", 'annotators=["ann","bob"]'])
    {'round_id': 3, 'folder': '/in', 'annotators': ['ann', 'bob']}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidOptionError("--param", "KEY=VALUE", pair)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out
