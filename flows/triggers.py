"""What a finished review starts: the close of its round, as a Prefect deployment run or in-process.

:func:`close_reviewed_round` gives the callback that :func:`qc.review.on_round_reviewed`
calls (the web page and ``qc review decide`` pass it on; ``flows.cli`` installs it). With a
Prefect server configured (``PREFECT_API_URL`` set) and the ``close-round/qc`` deployment
served, the close is a deployment run that the callback does not wait for; otherwise
:func:`qc.rounds.close_round` runs in this process. ``QC_EXPORT_DIR``, when set, receives the
accepted consensus as ``round-<id>-accepted.json``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from qc import rounds
from qc.review import RoundReviewed
from qc.store import db

__all__ = ["close_reviewed_round", "export_path"]

log = logging.getLogger(__name__)

CLOSE_DEPLOYMENT = "close-round/qc"


def export_path(round_id: int) -> str | None:
    """Where an automatic close exports the accepted labels (``$QC_EXPORT_DIR``), or ``None``."""
    folder = os.environ.get("QC_EXPORT_DIR")
    return str(Path(folder) / f"round-{round_id}-accepted.json") if folder else None


def close_reviewed_round(database_url: str) -> RoundReviewed:
    """The callback closing a fully reviewed round of ``database_url`` (see the module docstring)."""

    def start(round_id: int) -> str:
        parameters = {"database_url": database_url, "round_id": round_id, "export_path": export_path(round_id)}
        api = os.environ.get("PREFECT_API_URL")
        if api and _deployment_exists(api, CLOSE_DEPLOYMENT):
            from prefect.deployments import run_deployment
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: api}):  # the variable as it is now
                run = run_deployment(CLOSE_DEPLOYMENT, parameters=parameters, timeout=0)
            log.info("round %s fully reviewed: close-round flow run %s started", round_id, run.id)
            return f"flow run {run.id}"
        engine = db.make_engine(database_url)
        try:
            with db.session_scope(engine) as session:
                result = rounds.close_round(session, round_id=round_id, export_path=parameters["export_path"])
        finally:
            engine.dispose()
        log.info("round %s fully reviewed: closed in-process (%s)", round_id, result.status)
        return f"in-process: {result.status}"

    return start


def _deployment_exists(api: str, name: str) -> bool:
    """Whether the server at ``api`` has the deployment (an unreachable server counts as no)."""
    import httpx
    from prefect.exceptions import ObjectNotFound

    from flows.schedules import client as prefect_client

    try:
        with prefect_client(api) as client:
            client.read_deployment_by_name(name)
    except (ObjectNotFound, httpx.HTTPError) as exc:
        log.warning("no deployment %s on the Prefect server (%s): closing in-process", name, type(exc).__name__)
        return False
    return True
