"""Team mode against a real Prefect server: ``qc server start``'s processes, a scheduled round, the review trigger.

One module-scoped server (``prefect server start`` + ``python -m flows.serve`` + the review
page) in a temporary folder, stopped by the fixture's finalizer whatever happens.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from flows import schedules, server
from flows.triggers import close_reviewed_round
from qc import rounds
from qc.core import ImageInfo
from qc.guideline import parse_guideline
from qc.store import db
from qc.store import models as m
from qc.store.api import add_images
from tests.support.databases import upgraded

pytestmark = pytest.mark.slow

GUIDELINE = """
version: "1"
name: shapes
task: instance
classes:
  - {id: 1, name: box, kind: thing, colour: "#ff0000", min_area: 4}
routing: {k: 3, k_initial: 2, k_max: 3}
"""


@pytest.fixture(scope="module")
def team(
    tmp_path_factory: pytest.TempPathFactory, migrated_prefect_database: Path
) -> Iterator[tuple[str, server.ServerState]]:
    folder = tmp_path_factory.mktemp("team")
    shutil.copyfile(migrated_prefect_database, folder / "prefect.db")  # the server starts without migrating it
    url = f"sqlite:///{folder / 'qc.db'}"
    engine = db.make_engine(url)
    upgraded(engine)
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        add_images(session, project_id=ref.project_id, images=[ImageInfo(i, f"img{i}.png", 32, 32) for i in range(2)])
    engine.dispose()
    env = {
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    state = server.start(url, prefect_port=server.free_port(), web_port=server.free_port(), env=env, timeout=120)
    try:
        yield url, state
    finally:
        # `qc server stop` ends every process: checked here, after the module's last test, so
        # that no test order stops the server the other tests share.
        ended = server.stop(url, timeout=15)
    assert ended == {"web": "stopped", "serve": "stopped", "prefect": "stopped"}
    assert not any(server.alive(pid) for pid in state.pids.values())
    assert server.status(url)["running"] is False


def wait_final(api: str, run_id: str, timeout: float = 60) -> Any:
    """The flow run once it reached a final state (or as it is after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    with schedules.client(api) as c:
        while True:
            run = c.read_flow_run(run_id)
            if (run.state and run.state.is_final()) or time.monotonic() > deadline:
                return run
            time.sleep(1)


def test_server_processes_answer(team: tuple[str, server.ServerState]) -> None:
    url, state = team
    info = server.status(url)
    assert info["running"] and info["api_healthy"] and info["web_healthy"]
    assert sorted(info["processes"]) == ["prefect", "serve", "web"]
    names = {row["deployment"] for row in schedules.list_schedules(state.api_url)}
    assert {"open-round/qc", "watch-folder/qc", "weekly-report/qc", "close-round/qc", "report/qc"} <= names
    assert "sync-labelstudio/qc" in names


def test_round_scheduled_ahead_opens_and_writes_its_rows(team: tuple[str, server.ServerState]) -> None:
    url, state = team
    at = datetime.now(UTC) + timedelta(seconds=4)
    params = {"project": "shapes", "annotators": ["ann", "bob", "cy"], "seed": 3, "name": "monday"}
    added = schedules.add_schedule(state.api_url, "open-round", at=at, parameters=params)
    # (not listed here: the serving runner may pick the run up before its time, when it is no longer Scheduled)
    run = wait_final(state.api_url, added["flow_run_id"])
    assert run.state.is_completed(), run.state
    assert run.start_time is not None and run.start_time >= at - timedelta(seconds=1)
    engine = db.make_engine(url)
    with db.session_scope(engine, write=False) as session:
        round_row = session.scalars(select(m.Round).where(m.Round.name == "monday")).one()
        assignments = session.scalars(select(m.Assignment).where(m.Assignment.round_id == round_row.id)).all()
    engine.dispose()
    assert len(assignments) == 4  # 2 images x k_initial 2


def test_run_scheduled_later_is_listed_and_removed(team: tuple[str, server.ServerState]) -> None:
    _, state = team
    at = datetime.now(UTC) + timedelta(hours=1)
    params = {"project": "shapes", "annotators": ["ann", "bob"], "name": "later"}
    added = schedules.add_schedule(state.api_url, "open-round", at=at, parameters=params)

    def listed() -> dict[str, Any]:
        return {r["id"]: r for row in schedules.list_schedules(state.api_url) for r in row["scheduled_runs"]}

    shown = listed()[added["flow_run_id"]]["parameters"]
    assert {k: shown[k] for k in params} == params  # plus the deployment's default database_url
    assert schedules.remove_schedule(state.api_url, "open-round", added["flow_run_id"]) == "flow run"
    assert added["flow_run_id"] not in listed()


def test_interval_schedule_is_added_listed_and_removed(team: tuple[str, server.ServerState]) -> None:
    _, state = team
    params = {"round_id": 1, "folder": "/nonexistent/inbox"}
    added = schedules.add_schedule(state.api_url, "watch-folder", every=3600, parameters=params)
    rows = {row["deployment"]: row for row in schedules.list_schedules(state.api_url)}
    mine = [s for s in rows["watch-folder/qc"]["schedules"] if s["id"] == added["schedule_id"]]
    assert mine == [{"id": added["schedule_id"], "schedule": "every 3600 s", "active": True, "parameters": params}]
    assert schedules.remove_schedule(state.api_url, "watch-folder", added["schedule_id"]) == "schedule"
    rows = {row["deployment"]: row for row in schedules.list_schedules(state.api_url)}
    assert rows["watch-folder/qc"]["schedules"] == []


def test_finished_review_closes_its_round_through_the_deployment(
    team: tuple[str, server.ServerState], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = team
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        scheduled = rounds.schedule_round(
            session, project_id=ref.project_id, annotators=["ann", "bob"], seed=1, name="reviewed"
        )
        round_id = scheduled.round_id
    monkeypatch.setenv("PREFECT_API_URL", state.api_url)
    started = close_reviewed_round(url)(round_id)
    assert isinstance(started, str) and started.startswith("flow run ")
    run = wait_final(state.api_url, started.removeprefix("flow run "))
    assert run.state.is_completed(), run.state
    with db.session_scope(engine, write=False) as session:
        closes = session.scalars(
            select(m.Event).where(
                m.Event.verb == "close", m.Event.object_type == "round", m.Event.object_id == round_id
            )
        ).all()
    engine.dispose()
    assert len(closes) == 1 and closes[0].payload["awaiting"] == 2  # nothing delivered yet: the round stays open
