"""Connect a project to Label Studio, and push a round's work to it: one project per annotator and round.

- :func:`connect_project` checks the URL and the token (``whoami``), records the URL and the
  token's fingerprint, and keeps the token as :mod:`qc.connect._secret` says;
- :func:`push_round` gives every annotator of a round their own Label Studio project (blind:
  an annotator's project holds only their images), labelled with the guideline's classes
  (:func:`qc.connect._config.label_config`), and imports each assignment as a task;
- a rework round's assignments go into the annotator's project of the round the images came
  back from, with their earlier annotation as a pre-annotation (a prediction) and the reviewer's
  feedback in ``qc_feedback`` (:func:`qc.rounds._export.labelstudio_rework_tasks`).

Images: with a ``document_root`` (Label Studio's ``LOCAL_FILES_DOCUMENT_ROOT``) an image whose
stored path lies under it is referenced as ``/data/local-files/?d=<relative path>`` and each
project gets a local-files storage over the images' folder, so Label Studio shows the pixels;
otherwise the task holds the file name only. Every task carries ``qc_assignment`` in its data,
which is how the pushed tasks are found again. Pushing twice creates nothing new: an assignment
with a recorded task is skipped, and a task Label Studio holds already (a push that failed before
recording it) is recorded, not imported again. Unlike the rest of :mod:`qc.rounds`, a push commits
each Label Studio project and each annotator's tasks as soon as Label Studio made them, so that a
failure half-way never forgets what exists there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from qc.connect._client import LabelStudio
from qc.connect._config import IMAGE_NAME, label_config
from qc.connect._secret import fingerprint, load_token, save_token
from qc.errors import NotFoundError, RemoteError
from qc.rounds._export import labelstudio_rework_tasks
from qc.rounds._setup import round_guideline
from qc.store import connect as store
from qc.store import models as m
from qc.store.api import get_row, list_assignments, list_events, record_event
from qc.store.rounds import list_people

__all__ = ["ConnectResult", "PushResult", "connect_project", "push_reworks", "push_round"]

ASSIGNMENT_KEY = "qc_assignment"
"""The task data key holding the qc assignment id of a pushed task."""
FILE_KEY = "qc_file_name"
"""The task data key holding the qc image's file name."""


@dataclass(frozen=True)
class ConnectResult:
    url: str
    fingerprint: str
    user: str
    token_file: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "fingerprint": self.fingerprint, "user": self.user, "token_file": self.token_file}


@dataclass(frozen=True)
class PushResult:
    """What a push created: Label Studio project id per annotator name, and task counts."""

    round_id: int
    projects: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "projects": dict(self.projects), "tasks": dict(self.tasks)}


def connect_project(
    session: Session, *, project_id: int, url: str, token: str, database_url: str, document_root: str | None = None
) -> ConnectResult:
    """Check ``url`` with ``token`` (a :class:`RemoteError` naming the URL and the HTTP status when refused),
    then record the connection and keep the token (module docstring)."""
    get_row(session, m.Project, project_id)
    with LabelStudio(url, token) as client:
        who = client.whoami()
    user = str(who.get("email") or who.get("username") or who.get("id"))
    root = str(Path(document_root).resolve()) if document_root else None
    store.set_connection(
        session, project_id=project_id, url=client.url, fingerprint=fingerprint(token), document_root=root
    )
    payload = {"url": client.url, "fingerprint": fingerprint(token), "user": user, "document_root": root}
    record_event(session, verb="connect_labelstudio", object_type="project", object_id=project_id, payload=payload)
    kept = save_token(database_url, project_id, token)
    return ConnectResult(client.url, fingerprint(token), user, None if kept is None else str(kept))


def push_round(session: Session, *, round_id: int, database_url: str) -> PushResult | None:
    """Create the round's Label Studio projects and tasks (module docstring); ``None`` when not connected."""
    round_row = get_row(session, m.Round, round_id)
    connection = store.connection_for(session, project_id=round_row.project_id)
    if connection is None:
        return None
    token = load_token(database_url, round_row.project_id)
    done = {link.assignment_id for link in store.round_task_links(session, round_id=round_id)}
    owed: dict[int, list[m.Assignment]] = defaultdict(list)
    for assignment in list_assignments(session, round_id=round_id):
        if assignment.id not in done:
            owed[assignment.annotator_id].append(assignment)
    names = {p.id: p.name for p in list_people(session)}
    result = PushResult(round_id)
    with LabelStudio(connection.url, token) as client:
        for annotator_id, assignments in sorted(owed.items()):
            pusher = _Pusher(session, client, round_row, connection.document_root)
            project, count = pusher.push(annotator_id, names[annotator_id], assignments)
            result.projects[names[annotator_id]] = project
            result.tasks[names[annotator_id]] = count
    if result.projects:
        record_event(
            session, verb="push_labelstudio", object_type="round", object_id=round_id, payload=result.to_dict()
        )
    return result


def push_reworks(session: Session, *, round_id: int, database_url: str) -> dict[int, PushResult]:
    """Push every rework round opened from ``round_id`` (reviewers open them as they decide); by rework round id.

    Rework rounds pushed before are skipped task by task, so running it at every close is safe.
    """
    reworks = sorted(
        int(event.object_id or 0)
        for event in list_events(session, verb="rework_round", object_type="round")
        if event.payload.get("source_round") == round_id
    )
    out: dict[int, PushResult] = {}
    for rework in reworks:
        pushed = push_round(session, round_id=rework, database_url=database_url)
        if pushed is None:
            return {}
        out[rework] = pushed
    return out


class _Pusher:
    """Pushes one annotator's assignments of one round."""

    def __init__(self, session: Session, client: LabelStudio, round_row: m.Round, document_root: str | None) -> None:
        self.session = session
        self.client = client
        self.round = round_row
        self.round_id = int(round_row.id or 0)
        self.root = document_root

    def push(self, annotator_id: int, name: str, assignments: list[m.Assignment]) -> tuple[int, int]:
        """``(Label Studio project id, tasks created)``; each step committed as soon as Label Studio made it."""
        home = self._home_round()
        project = store.remote_project(self.session, round_id=home, annotator_id=annotator_id)
        if project is None:
            project = self._new_project(name)
            store.add_remote_project(self.session, round_id=home, annotator_id=annotator_id, remote_id=project)
            self.session.commit()
        wanted = {int(a.id or 0) for a in assignments}
        found = self._pushed(project, wanted)  # an earlier push that failed before recording its tasks
        missing = [a for a in assignments if int(a.id or 0) not in found]
        if missing:
            self.client.import_tasks(project, self._tasks(annotator_id, missing, home))
            found = self._pushed(project, wanted)
        if wanted - set(found):
            raise RemoteError(
                f"Label Studio at {self.client.url} did not create the tasks of assignments "
                f"{sorted(wanted - set(found))} in project {project}; push again with qc round push {self.round_id}",
                url=self.client.url,
            )
        store.add_remote_tasks(self.session, rows=[(a, project, t) for a, t in sorted(found.items())])
        self.session.commit()
        return project, len(found)

    def _pushed(self, project: int, wanted: set[int]) -> dict[int, int]:
        """The project's tasks of ``wanted`` assignments: ``{assignment id: task id}`` (the first of each)."""
        found: dict[int, int] = {}
        for task in self.client.export_tasks(project):
            key = (task.get("data") or {}).get(ASSIGNMENT_KEY)
            if isinstance(key, int) and key in wanted:
                found.setdefault(key, int(task["id"]))
        return found

    def _home_round(self) -> int:
        """The round whose Label Studio projects take this round's tasks: a rework round's source round."""
        if self.round.kind != m.RoundKind.REWORK.value:
            return self.round_id
        for event in list_events(self.session, verb="rework_round", object_type="round", object_id=self.round_id):
            return int(event.payload["source_round"])
        raise NotFoundError(f"rework round {self.round_id} names no source round (no rework_round event)")

    def _new_project(self, name: str) -> int:
        project = get_row(self.session, m.Project, self.round.project_id)
        guideline = round_guideline(self.session, round_id=self.round_id)
        title = f"{project.name} / {self.round.name or f'round {self.round_id}'} / {name}"
        description = f"qc project {project.name!r}, round {self.round_id}: the images assigned to {name} (blind)"
        remote = self.client.create_project(
            title=title, label_config=label_config(guideline.classes), description=description
        )
        folders = self._image_folders()
        for number, folder in enumerate(folders, start=1):
            self.client.add_local_storage(remote, path=folder, title=f"qc images {number}")
        return remote

    def _image_folders(self) -> list[str]:
        if self.root is None:
            return []
        image_ids = [a.image_id for a in list_assignments(self.session, round_id=self.round_id)]
        paths = store.image_paths(self.session, image_ids=image_ids).values()
        return sorted({str(Path(p).resolve().parent) for p in paths if p and self._local(p) is not None})

    def _local(self, path: str) -> str | None:
        """The path relative to the document root, when it lies under it."""
        if self.root is None:
            return None
        resolved = Path(path).resolve()
        root = Path(self.root)
        return resolved.relative_to(root).as_posix() if root in resolved.parents else None

    def _reference(self, file_name: str, path: str | None) -> str:
        relative = self._local(path) if path else None
        return f"/data/local-files/?d={relative}" if relative is not None else file_name

    def _tasks(self, annotator_id: int, assignments: list[m.Assignment], home: int) -> list[dict[str, Any]]:
        """One task per assignment: the image (see the module docstring), and for rework the pre-annotation."""
        image_ids = [a.image_id for a in assignments]
        paths = store.image_paths(self.session, image_ids=image_ids)
        files = {i: get_row(self.session, m.Image, i).file_name for i in image_ids}
        by_image = {a.image_id: int(a.id or 0) for a in assignments}
        if home != self.round_id:
            rework = labelstudio_rework_tasks
            tasks = rework(self.session, round_id=home, annotator_id=annotator_id, image_ids=image_ids)
        else:
            tasks = [{"id": i, "data": {}} for i in image_ids]
        for task in tasks:
            image_id = int(task.pop("id"))
            task["data"] |= {
                IMAGE_NAME: self._reference(files[image_id], paths.get(image_id)),
                ASSIGNMENT_KEY: by_image[image_id],
                FILE_KEY: files[image_id],
            }
        return tasks
