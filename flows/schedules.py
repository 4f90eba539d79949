"""``qc schedule list|add|remove``: the schedules of qc's deployments on the team's Prefect server.

The server is ``$PREFECT_API_URL``, else the one ``qc server start`` recorded beside the
database. ``add`` takes exactly one of ``--cron`` (with ``--timezone``), ``--every SECONDS``
or ``--at TIME`` (ISO 8601; one run: a flow run scheduled for that time, e.g. a round that
opens on Monday 08:00); ``--param KEY=VALUE`` (VALUE parsed as JSON when it parses, else
text) sets the flow's parameters for that schedule or run. ``remove`` takes a schedule id or a
scheduled flow run id, as ``list`` shows them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import typer

from flows.server import read_state
from qc.cli import DB_OPTION, console, database_url, failures
from qc.errors import NotFoundError, StoreError

__all__ = [
    "DEPLOYMENT",
    "add_schedule",
    "api_url",
    "deployment_name",
    "list_schedules",
    "remove_schedule",
    "schedule_app",
]

DEPLOYMENT = "qc"
"""The deployment name of every qc flow: ``<flow name>/qc``."""


def deployment_name(flow_name: str) -> str:
    """``"close-round"`` -> ``"close-round/qc"`` (a full name is returned as is).

    >>> deployment_name("close-round"), deployment_name("report/qc")
    ('close-round/qc', 'report/qc')
    """
    return flow_name if "/" in flow_name else f"{flow_name}/{DEPLOYMENT}"


def api_url(url: str | None = None) -> str:
    """``$PREFECT_API_URL``, else the API of the server recorded for database ``url``."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    state = read_state(database_url(url))
    if state is None:
        raise StoreError("no Prefect server: run qc server start, or set PREFECT_API_URL", field="PREFECT_API_URL")
    return state.api_url


@contextmanager
def client(api: str) -> Iterator[Any]:
    """A synchronous Prefect client on ``api``."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as c:
        yield c


def describe(schedule: Any) -> str:
    """A schedule as one line: ``cron 0 7 * * 1 (UTC)``, ``every 300 s``, or its JSON."""
    if getattr(schedule, "cron", None):
        return f"cron {schedule.cron} ({schedule.timezone or 'UTC'})"
    if getattr(schedule, "interval", None) is not None:
        return f"every {schedule.interval.total_seconds():g} s"
    return str(schedule.model_dump_json())


def list_schedules(api: str) -> list[dict[str, Any]]:
    """Every deployment with its schedules and its scheduled (not yet started) flow runs."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    out = []
    with client(api) as c:
        for dep in c.read_deployments():
            flow = c.read_flow(dep.flow_id)
            runs = c.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType.SCHEDULED]))),
            )  # fmt: skip
            out.append({
                "deployment": f"{flow.name}/{dep.name}", "id": str(dep.id),
                "schedules": [{"id": str(s.id), "schedule": describe(s.schedule), "active": s.active,
                               "parameters": dict(s.parameters or {})} for s in dep.schedules],
                "scheduled_runs": [{"id": str(r.id), "at": r.expected_start_time.isoformat() if r.expected_start_time
                                    else None, "parameters": dict(r.parameters)} for r in runs],
            })  # fmt: skip
    return out


def add_schedule(
    api: str,
    deployment: str,
    *,
    cron: str | None = None,
    every: float | None = None,
    at: datetime | None = None,
    timezone: str = "UTC",
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Add a cron or interval schedule (returns its id), or schedule one run ``at`` a time (returns the run id)."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
    from prefect.deployments import run_deployment

    if sum(x is not None for x in (cron, every, at)) != 1:
        raise StoreError(f"give exactly one of cron, every, at; got cron={cron!r} every={every!r} at={at!r}")
    name = deployment_name(deployment)
    params = dict(parameters or {})
    with client(api) as c:
        dep = _deployment(c, name)
        if at is not None:
            when = at if at.tzinfo else at.replace(tzinfo=UTC)
            run = run_deployment(name, parameters=params, scheduled_time=when, timeout=0)
            return {"deployment": name, "flow_run_id": str(run.id), "at": when.isoformat()}
        if every is not None and every <= 0:
            raise StoreError(f"--every needs a positive number of seconds; got {every}", field="every")
        schedule = (CronSchedule(cron=cron, timezone=timezone) if cron is not None
                    else IntervalSchedule(interval=timedelta(seconds=float(every or 0))))  # fmt: skip
        created = c.create_deployment_schedules(
            dep.id, [DeploymentScheduleCreate(schedule=schedule, active=True, parameters=params)]
        )
        return {"deployment": name, "schedule_id": str(created[0].id), "schedule": describe(schedule)}


def remove_schedule(api: str, deployment: str, schedule_or_run_id: str) -> str:
    """Delete a schedule of the deployment, or a scheduled flow run of it; returns which it was."""
    from prefect.exceptions import ObjectNotFound

    name = deployment_name(deployment)
    target = _uuid(schedule_or_run_id)
    with client(api) as c:
        dep = _deployment(c, name)
        if any(s.id == target for s in dep.schedules):
            c.delete_deployment_schedule(dep.id, target)
            return "schedule"
        try:
            run = c.read_flow_run(target)
        except ObjectNotFound:
            run = None
        if run is None or run.deployment_id != dep.id:
            known = [str(s.id) for s in dep.schedules]
            raise NotFoundError(f"{schedule_or_run_id} is neither a schedule of {name} (schedules: {known}) nor one "
                                "of its flow runs; see qc schedule list")  # fmt: skip
        c.delete_flow_run(target)
        return "flow run"


def _deployment(c: Any, name: str) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return c.read_deployment_by_name(name)
    except ObjectNotFound:
        names = [f"{c.read_flow(d.flow_id).name}/{d.name}" for d in c.read_deployments()]
        raise NotFoundError(f"no deployment {name} on the Prefect server (deployments: {names}); is qc server "
                            "running (qc server status)?") from None  # fmt: skip


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise StoreError(f"expected a schedule or flow run id (a UUID); got {text!r}") from None


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` to parameters; a value is JSON when it parses (``3``, ``["a","b"]``), else text.

    >>> parse_params(["round_id=3", "folder=/in", 'annotators=["ann","bob"]'])
    {'round_id': 3, 'folder': '/in', 'annotators': ['ann', 'bob']}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise StoreError(f"--param must be KEY=VALUE; got {pair!r}", field="param")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


# --- commands ----------------------------------------------------------------------------------------------

schedule_app = typer.Typer(help="Scheduled work on the team server: list, add, remove.", no_args_is_help=True)


@schedule_app.command("list")
def list_command(url: str | None = DB_OPTION) -> None:
    """Each deployment with its schedules and scheduled runs."""
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
    with failures():
        added = add_schedule(api_url(url), deployment, cron=cron, every=every, at=at, timezone=timezone,
                             parameters=parse_params(param))  # fmt: skip
    console.print(json.dumps(added), markup=False)


@schedule_app.command("remove")
def remove_command(
    deployment: str = typer.Argument(..., help="The deployment (e.g. watch-folder)."),
    schedule_id: str = typer.Argument(..., help="Schedule id or scheduled flow run id (qc schedule list)."),
    url: str | None = DB_OPTION,
) -> None:
    """Remove a schedule or a scheduled run."""
    with failures():
        what = remove_schedule(api_url(url), deployment, schedule_id)
    console.print(f"removed {what} {schedule_id} of {deployment_name(deployment)}", markup=False)
