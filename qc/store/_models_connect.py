"""Tables of the Label Studio connector: the connection of a project, the tool's projects and tasks, the time spent.

- ``labelstudio_connection``: one per qc project: the server's URL, the fingerprint of the
  token it was connected with (the first 12 hex digits of its SHA-256; never the token) and the
  folder Label Studio serves local files from (its ``LOCAL_FILES_DOCUMENT_ROOT``), if any;
- ``labelstudio_project``: the Label Studio project of one annotator in one round (blind: one each);
- ``labelstudio_task``: the Label Studio task of one assignment (a rework assignment's task lies in
  the annotator's project of the round the image came back from);
- ``labelstudio_annotation``: the Label Studio annotation a sync read for an assignment, its
  ``lead_time`` (seconds, as Label Studio measured it) and the submission the sync stored from it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["LabelStudioAnnotation", "LabelStudioConnection", "LabelStudioProject", "LabelStudioTask"]


def _created() -> datetime:
    from qc.store.models import utcnow

    return utcnow()


class LabelStudioConnection(SQLModel, table=True):
    """A qc project's Label Studio server: its URL and the token's fingerprint (the secret lives elsewhere)."""

    __tablename__ = "labelstudio_connection"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", unique=True)
    url: str
    token_fingerprint: str
    document_root: str | None = None
    created_at: datetime = Field(default_factory=_created, sa_type=DateTime(timezone=True), nullable=False)


class LabelStudioProject(SQLModel, table=True):
    """The Label Studio project of one annotator in one round."""

    __tablename__ = "labelstudio_project"
    __table_args__ = (UniqueConstraint("round_id", "annotator_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    annotator_id: int = Field(foreign_key="person.id")
    remote_id: int
    created_at: datetime = Field(default_factory=_created, sa_type=DateTime(timezone=True), nullable=False)


class LabelStudioTask(SQLModel, table=True):
    """The Label Studio task (``remote_id``, in Label Studio project ``remote_project_id``) of one assignment."""

    __tablename__ = "labelstudio_task"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", unique=True)
    remote_project_id: int = Field(index=True)
    remote_id: int
    created_at: datetime = Field(default_factory=_created, sa_type=DateTime(timezone=True), nullable=False)


class LabelStudioAnnotation(SQLModel, table=True):
    """A Label Studio annotation read for an assignment: its ``lead_time`` (s) and the submission stored from it."""

    __tablename__ = "labelstudio_annotation"
    __table_args__ = (UniqueConstraint("assignment_id", "remote_id"),)

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    remote_id: int
    lead_time: float | None = None
    remote_updated_at: str | None = None
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    synced_at: datetime = Field(default_factory=_created, sa_type=DateTime(timezone=True), nullable=False)
