"""qc's Prefect deployments, served by one process (``python -m flows.serve``, started by ``qc server start``).

Every deployment is named ``<flow name>/qc`` and has the qc database URL as its default
``database_url`` parameter; other parameters come from the schedule (``qc schedule add
--param``) or from ``run_deployment``. No deployment carries a schedule of its own: QA leads add
them with ``qc schedule add``, and re-serving keeps them (a deployment re-applied without
schedules keeps the server's). Deployments:

- ``open-round/qc``: schedule a round (``project``, ``annotators``); run once at a time with
  ``qc schedule add open-round --at ...``.
- ``watch-folder/qc``: ingest the new files of a delivery folder into a round and score what
  changed (``round_id``, ``folder``); ingest and scoring are idempotent, so an interval
  schedule (``--every 300``) polling the folder is honest: an unchanged folder stores nothing.
- ``weekly-report/qc``: write ``report-<date>.html`` of a project or round into a folder
  (``folder``, ``project`` or ``round_id``); a cron schedule (``--cron "0 7 * * 1"``).
- ``sync-labelstudio/qc``: pull a round's completed Label Studio annotations, ingest them and (with
  ``score=true``) score what changed (``round_id``); idempotent, so an interval schedule is honest.
  ``open-round`` and ``close-round`` push a connected project's new rounds to Label Studio themselves.
- ``close-round/qc``: started when a round's last review item is decided
  (:mod:`flows.triggers`); ``report/qc``: the report flow, on demand.
"""

from __future__ import annotations

import argparse
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from prefect import flow
from prefect.deployments.runner import EntrypointType, RunnerDeployment

from flows.connect import sync_labelstudio
from flows.report import report
from flows.round import close_round, ingest_round, schedule_round, score_round
from flows.schedules import DEPLOYMENT, deployment_name
from qc.store import db
from qc.store.api import find_project

__all__ = ["DEPLOYMENT", "deployment_name", "deployments", "main", "open_round", "watch_folder", "weekly_report"]

log = logging.getLogger(__name__)


@flow(name="open-round")
def open_round(
    database_url: str,
    project: str,
    annotators: list[str],
    seed: int = 0,
    k: int | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Open (schedule) a round of ``project`` for the annotator pool, at the time the run was scheduled for."""
    with db.session_for(database_url, write=False) as session:
        project_id = int(find_project(session, name=project).id or 0)
    return schedule_round(database_url, project_id=project_id, annotators=annotators, seed=seed, k=k, name=name)


@flow(name="watch-folder")
def watch_folder(database_url: str, round_id: int, folder: str, workers: int = 1) -> dict[str, Any]:
    """Ingest what is new in ``folder`` (one file per annotator) and score the images whose inputs changed."""
    if not Path(folder).is_dir():
        log.warning("watched folder %s does not exist (yet): nothing to ingest", folder)
        return {"ingested": [], "scored": 0, "stored": 0}
    ingested = ingest_round(database_url, round_id, folder)
    outcomes = score_round(database_url, round_id, workers=workers)
    new = [item for item in ingested if item["created"]]
    return {"ingested": new, "scored": len(outcomes), "stored": sum(1 for o in outcomes if o["stored"])}


@flow(name="weekly-report")
def weekly_report(
    database_url: str, folder: str, project: str | None = None, round_id: int | None = None
) -> dict[str, object]:
    """The report of a project or round as ``<folder>/report-<UTC date>.html``."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"report-{datetime.now(UTC):%Y-%m-%d}.html"
    return report(database_url, str(path), round_id=round_id, project=project)


FLOWS = (open_round, watch_folder, weekly_report, close_round, report, sync_labelstudio)


def deployments(database_url: str) -> list[RunnerDeployment]:
    """One deployment per qc flow, named ``qc``, with ``database_url`` as its default parameter.

    Entry points are module paths (``flows.serve.open_round``), so runs start from any folder.
    """
    return [
        cast(
            "RunnerDeployment",
            f.to_deployment(
                name=DEPLOYMENT,
                parameters={"database_url": database_url},
                entrypoint_type=EntrypointType.MODULE_PATH,
                tags=["qc"],
            ),
        )
        for f in FLOWS
    ]


def main(argv: list[str] | None = None) -> None:
    """Serve the deployments until SIGTERM/SIGINT (``PREFECT_API_URL`` must name the server)."""
    from prefect import serve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="qc database URL (default: $QC_DATABASE_URL, else sqlite:///qc.db)")
    parser.add_argument("--limit", type=int, default=4, help="flow runs at once")
    args = parser.parse_args(argv)
    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit("PREFECT_API_URL is not set: start the server with `qc server start`")
    database_url = db.resolve_url(args.db).render_as_string(hide_password=False)
    serve(*deployments(database_url), limit=args.limit, pause_on_shutdown=False)


if __name__ == "__main__":  # run the imported module's main: entry points must name flows.serve, not __main__
    import flows.serve

    flows.serve.main()
