"""Label Studio flows: push a round's tasks (run by schedule-round and close-round), and ``sync-labelstudio``.

``sync-labelstudio`` pulls a round's completed annotations and ingests them (idempotent: an
unchanged Label Studio project stores nothing), and with ``score`` scores what changed, so an
interval schedule (``qc schedule add sync-labelstudio --every 300 --param round_id=3``) keeps a
round in step with Label Studio as ``watch-folder`` does with a folder. Pushing is not retried:
a push that failed half-way is re-run with ``qc round push``, which skips what was created.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from qc import connect
from qc.store import db

__all__ = ["push_labelstudio", "push_rework_task", "push_task", "sync_labelstudio"]


@task(name="push-labelstudio")
def push_task(database_url: str, round_id: int) -> dict[str, Any] | None:
    with db.session_for(database_url) as session:
        result = connect.push_round(session, round_id=round_id, database_url=database_url)
        return None if result is None else result.to_dict()


@task(name="push-labelstudio-rework")
def push_rework_task(database_url: str, round_id: int) -> dict[str, Any] | None:
    with db.session_for(database_url) as session:
        pushed = connect.push_reworks(session, round_id=round_id, database_url=database_url)
        return {str(k): v.to_dict() for k, v in pushed.items()} or None


@task(name="sync-labelstudio", retries=2, retry_delay_seconds=3)
def sync_task(database_url: str, round_id: int, folder: str) -> dict[str, Any]:
    with db.session_for(database_url) as session:
        return connect.sync_round(session, round_id=round_id, database_url=database_url, folder=folder).to_dict()


@flow(name="push-labelstudio")
def push_labelstudio(database_url: str, round_id: int) -> dict[str, Any] | None:
    """Give the round's annotators their Label Studio projects and tasks (``None``: the project is not connected)."""
    return push_task(database_url, round_id)


@flow(name="sync-labelstudio")
def sync_labelstudio(
    database_url: str, round_id: int, folder: str | None = None, score: bool = False, workers: int = 1
) -> dict[str, Any]:
    """Pull and ingest the round's completed Label Studio annotations; with ``score``, score what changed."""
    target = folder or str(connect.default_folder(database_url))
    result = sync_task(database_url, round_id, target)
    if score:
        from flows.round import score_round

        outcomes = score_round(database_url, round_id, workers=workers)
        result["scored"] = len(outcomes)
    return result
