"""Sync: pull a round's completed Label Studio annotations and ingest them as the annotators' submissions.

For each Label Studio project of the round, one export (``GET /api/projects/{id}/export``)
gives every task; each task the round pushed (:mod:`qc.connect._push`) is then

- *completed*: its newest annotation that was not skipped is written, with the qc image's file
  name and ``completed_by`` set to the annotator's name, into
  ``<folder>/round-<id>/labelstudio-project-<project>.json`` (a Label Studio export), and that
  file goes through the ordinary ingest (:func:`qc.rounds.ingest_folder`): the same annotation
  again stores nothing, an edited one becomes the next submission version, a bad region is a
  rejection with its reason;
- *skipped* (every annotation ``was_cancelled``), *deleted* (no longer in the project, or the
  project itself deleted) or
  *pending* (not annotated yet): counted and listed in the result, never an error.

Label Studio's ``lead_time`` (seconds the annotator spent) of each ingested annotation is kept
with the submission it produced (:func:`qc.store.connect.record_annotation`): the report's time
per image and cost per accepted image come from it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from qc.connect._client import LabelStudio
from qc.connect._secret import load_token
from qc.errors import NotFoundError, RemoteError
from qc.rounds._ingest import FileIngest, ingest_folder
from qc.store import connect as store
from qc.store import models as m
from qc.store.api import get_row, record_event
from qc.store.connect import TaskLink
from qc.store.db import resolve_url
from qc.store.ingest import latest_submissions
from qc.store.rounds import list_people

__all__ = ["SyncResult", "default_folder", "sync_round"]


def default_folder(database_url: str) -> Path:
    """Where synced exports are kept: ``labelstudio-sync`` beside a SQLite database, else in the working folder.

    >>> default_folder("sqlite:////data/qc.db").as_posix(), default_folder("postgresql://db/qc").as_posix()
    ('/data/labelstudio-sync', 'labelstudio-sync')
    """
    url = resolve_url(database_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return Path(url.database).parent / "labelstudio-sync"
    return Path("labelstudio-sync")


@dataclass(frozen=True)
class SyncResult:
    """What one sync read and stored; ``skipped`` / ``deleted`` list ``(annotator, file name, task id)``."""

    round_id: int
    completed: int = 0
    pending: int = 0
    skipped: tuple[tuple[str, str, int], ...] = ()
    deleted: tuple[tuple[str, str, int], ...] = ()
    ingested: tuple[FileIngest, ...] = ()
    lead_times: int = 0

    @property
    def new_submissions(self) -> int:
        return sum(len(item.result.created) for item in self.ingested)

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "completed": self.completed,
            "pending": self.pending,
            "skipped": [list(s) for s in self.skipped],
            "deleted": [list(d) for d in self.deleted],
            "new_submissions": self.new_submissions,
            "lead_times": self.lead_times,
            "ingested": [item.to_dict() for item in self.ingested],
        }


@dataclass
class _Pulled:
    """The tasks of one Label Studio project, sorted by what became of them."""

    completed: list[tuple[TaskLink, dict[str, Any]]] = field(default_factory=list)
    pending: int = 0
    skipped: list[TaskLink] = field(default_factory=list)
    deleted: list[TaskLink] = field(default_factory=list)


def sync_round(session: Session, *, round_id: int, database_url: str, folder: str | Path) -> SyncResult:
    """Pull and ingest the round's Label Studio annotations (module docstring)."""
    round_row = get_row(session, m.Round, round_id)
    connection = store.connection_for(session, project_id=round_row.project_id)
    if connection is None:
        raise NotFoundError(
            f"the project of round {round_id} is not connected to Label Studio; run qc connect labelstudio first",
            field="project",
        )
    links = store.round_task_links(session, round_id=round_id)
    by_project: dict[int, list[TaskLink]] = defaultdict(list)
    for link in links:
        by_project[link.remote_project_id].append(link)
    names = {int(p.id): p.name for p in list_people(session)}
    target = Path(folder) / f"round-{round_id}"
    pulled: dict[int, _Pulled] = {}
    with LabelStudio(connection.url, load_token(database_url, round_row.project_id)) as client:
        for project, project_links in sorted(by_project.items()):
            pulled[project] = _pull(_project_tasks(client, project), project_links)
    ingested: list[FileIngest] = []
    for project, found in sorted(pulled.items()):
        if found.completed:
            path = _write(target / f"labelstudio-project-{project}.json", found.completed, names)
            ingested += ingest_folder(session, round_id=round_id, folder=path)
    timed = _record_lead_times(session, round_id, [pair for found in pulled.values() for pair in found.completed])
    result = SyncResult(
        round_id,
        completed=sum(len(f.completed) for f in pulled.values()),
        pending=sum(f.pending for f in pulled.values()),
        skipped=_listed([link for f in pulled.values() for link in f.skipped], names),
        deleted=_listed([link for f in pulled.values() for link in f.deleted], names),
        ingested=tuple(ingested),
        lead_times=timed,
    )
    if result.new_submissions or timed:
        payload = {k: v for k, v in result.to_dict().items() if k != "ingested"}
        record_event(session, verb="sync_labelstudio", object_type="round", object_id=round_id, payload=payload)
    return result


def _project_tasks(client: LabelStudio, project: int) -> list[dict[str, Any]]:
    """The project's tasks; none when the project was deleted in Label Studio (its tasks count as deleted)."""
    try:
        return client.export_tasks(project)
    except RemoteError as error:
        if error.status == 404:
            return []
        raise


def _pull(tasks: list[dict[str, Any]], links: list[TaskLink]) -> _Pulled:
    by_id = {t.get("id"): t for t in tasks}
    out = _Pulled()
    for link in links:
        task = by_id.get(link.remote_id)
        if task is None:
            out.deleted.append(link)
            continue
        entries = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        done = [a for a in entries if not a.get("was_cancelled")]
        if done:
            newest = max(done, key=lambda a: (str(a.get("updated_at") or ""), int(a.get("id") or 0)))
            out.completed.append((link, {**task, "annotations": [newest]}))
        elif entries:
            out.skipped.append(link)
        else:
            out.pending += 1
    return out


def _write(path: Path, completed: list[tuple[TaskLink, dict[str, Any]]], names: dict[int, str]) -> Path:
    """The completed tasks as a Label Studio export that names its annotator and the qc image (stable bytes)."""
    tasks = []
    for link, task in completed:
        (annotation,) = task["annotations"]
        entry = {"id": annotation.get("id"), "result": annotation.get("result") or []}
        entry["completed_by"] = names[link.annotator_id]
        tasks.append({"id": link.remote_id, "data": {"image": link.file_name}, "annotations": [entry]})
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(tasks, sort_keys=True, allow_nan=False)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return path


def _record_lead_times(session: Session, round_id: int, completed: list[tuple[TaskLink, dict[str, Any]]]) -> int:
    """Keep each read annotation's lead time with the assignment's latest submission; returns how many changed."""
    latest = {r.assignment_id: r.submission_id for r in latest_submissions(session, round_id=round_id)}
    changed = 0
    for link, task in completed:
        (annotation,) = task["annotations"]
        lead = annotation.get("lead_time")
        changed += store.record_annotation(
            session,
            assignment_id=link.assignment_id,
            remote_id=int(annotation.get("id") or 0),
            lead_time=float(lead) if isinstance(lead, int | float) and not isinstance(lead, bool) else None,
            updated_at=str(annotation.get("updated_at") or "") or None,
            submission_id=latest.get(link.assignment_id),
        )
    return changed


def _listed(links: list[TaskLink], names: dict[int, str]) -> tuple[tuple[str, str, int], ...]:
    return tuple(sorted((names[link.annotator_id], link.file_name, link.remote_id) for link in links))
