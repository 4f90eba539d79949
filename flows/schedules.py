"""The schedules of qc's deployments on the team's Prefect server: list, add, remove (``qc schedule``).

The server is ``$PREFECT_API_URL``, else the one ``qc server start`` recorded beside the
database. :func:`add_schedule` takes exactly one of ``cron`` (with ``timezone``), ``every``
(seconds) or ``at`` (one run: a flow run scheduled for that time, e.g. a round that opens on
Monday 08:00), and the flow's parameters for that schedule or run. :func:`remove_schedule`
takes a schedule id or a scheduled flow run id, as :func:`list_schedules` gives them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from flows.server import read_state
from qc.errors import InvalidOptionError, NotFoundError, StoreError
from qc.store import db

__all__ = [
    "DEPLOYMENT",
    "add_schedule",
    "api_url",
    "client",
    "deployment_name",
    "list_schedules",
    "remove_schedule",
    "start_run",
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
    state = read_state(db.resolve_url(url).render_as_string(hide_password=False))
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

    scheduled = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))
    out = []
    with client(api) as c:
        for dep in c.read_deployments():
            flow = c.read_flow(dep.flow_id)
            of_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[dep.id]))
            runs = c.read_flow_runs(deployment_filter=of_deployment, flow_run_filter=scheduled)
            out.append(
                {
                    "deployment": f"{flow.name}/{dep.name}",
                    "id": str(dep.id),
                    "schedules": [_schedule_row(s) for s in dep.schedules],
                    "scheduled_runs": [_run_row(r) for r in runs],
                }
            )
    return out


def _schedule_row(schedule: Any) -> dict[str, Any]:
    """A deployment schedule as :func:`list_schedules` gives it."""
    parameters = dict(schedule.parameters or {})
    return {
        "id": str(schedule.id),
        "schedule": describe(schedule.schedule),
        "active": schedule.active,
        "parameters": parameters,
    }


def _run_row(run: Any) -> dict[str, Any]:
    """A scheduled flow run as :func:`list_schedules` gives it."""
    at = run.expected_start_time.isoformat() if run.expected_start_time else None
    return {"id": str(run.id), "at": at, "parameters": dict(run.parameters)}


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

    given = {"cron": cron, "every": every, "at": at}
    if sum(value is not None for value in given.values()) != 1:
        chosen = {key: value for key, value in given.items() if value is not None}
        raise InvalidOptionError("schedule", "exactly one of cron, every, at", chosen)
    if every is not None and every <= 0:
        raise InvalidOptionError("every", "a positive number of seconds", every)
    name = deployment_name(deployment)
    params = dict(parameters or {})
    with client(api) as c:
        dep = _deployment(c, name)
        if at is not None:
            when = at if at.tzinfo else at.replace(tzinfo=UTC)
            run_id = start_run(api, name, params, at=when)
            return {"deployment": name, "flow_run_id": str(run_id), "at": when.isoformat()}
        if cron is not None:
            schedule: CronSchedule | IntervalSchedule = CronSchedule(cron=cron, timezone=timezone)
        else:
            schedule = IntervalSchedule(interval=timedelta(seconds=float(every or 0)))
        created = c.create_deployment_schedules(
            dep.id, [DeploymentScheduleCreate(schedule=schedule, active=True, parameters=params)]
        )
        return {"deployment": name, "schedule_id": str(created[0].id), "schedule": describe(schedule)}


def start_run(api: str, name: str, parameters: Mapping[str, Any], *, at: datetime | None = None) -> UUID:
    """Start a flow run of deployment ``name`` on the server at ``api`` (at ``at``, else now), not waiting; its id."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}):  # the server as given, whatever the environment says
        run = run_deployment(name, parameters=dict(parameters), scheduled_time=at, timeout=0)
    return cast("FlowRun", run).id


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
            raise NotFoundError(
                f"{schedule_or_run_id} is neither a schedule of {name} (schedules: {known}) nor one of its flow runs; "
                "see qc schedule list"
            )
        c.delete_flow_run(target)
        return "flow run"


def _deployment(c: Any, name: str) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return c.read_deployment_by_name(name)
    except ObjectNotFound:
        names = [f"{c.read_flow(d.flow_id).name}/{d.name}" for d in c.read_deployments()]
        raise NotFoundError(
            f"no deployment {name} on the Prefect server (deployments: {names}); is qc server running "
            "(qc server status)?"
        ) from None


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidOptionError(
            "schedule id", "a schedule or flow run id (a UUID, as qc schedule list shows)", text
        ) from None
