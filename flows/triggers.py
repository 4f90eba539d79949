"""What a finished review starts: the close of its round, as a Prefect deployment run or in-process.

:func:`close_reviewed_round` gives the callback that :func:`qc.review.on_round_reviewed`
calls (``qc review decide`` and ``qc review serve`` import it when they run and pass it on). With a
Prefect server configured (``PREFECT_API_URL`` set) and the ``close-round/qc`` deployment
served, the close is a deployment run that the callback does not wait for; otherwise
:func:`qc.rounds.close_round` runs in this process. ``QC_EXPORT_DIR``, when set, receives the
accepted consensus as ``round-<id>-accepted.json``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flows.schedules import client, start_run
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
        target = export_path(round_id)
        api = os.environ.get("PREFECT_API_URL")
        if api and _deployment_exists(api, CLOSE_DEPLOYMENT):
            parameters = {"database_url": database_url, "round_id": round_id, "export_path": target}
            run_id = start_run(api, CLOSE_DEPLOYMENT, parameters)
            log.info("round %s fully reviewed: close-round flow run %s started", round_id, run_id)
            return f"flow run {run_id}"
        with db.session_for(database_url) as session:
            result = rounds.close_round(session, round_id=round_id, export_path=target)
        log.info("round %s fully reviewed: closed in-process (%s)", round_id, result.status)
        return f"in-process: {result.status}"

    return start


def _deployment_exists(api: str, name: str) -> bool:
    """Whether the server at ``api`` has the deployment (an unreachable server counts as no)."""
    import httpx
    from prefect.exceptions import ObjectNotFound

    try:
        with client(api) as prefect:
            prefect.read_deployment_by_name(name)
    except (ObjectNotFound, httpx.HTTPError) as exc:
        log.warning("no deployment %s on the Prefect server (%s): closing in-process", name, type(exc).__name__)
        return False
    return True
