"""Set up: a project from its guideline, the annotators of a round, the guideline a round runs under."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from qc.core import Category
from qc.errors import ConflictError, NotFoundError, QCError
from qc.guideline import Guideline, parse_guideline
from qc.store import models as m
from qc.store.api import add_guideline_version, add_label_classes, add_person, create_project, get_row
from qc.store.rounds import guideline_version, person_named, project_named

if TYPE_CHECKING:  # qc.agreement (matching, SciPy) is imported by the scoring that uses it, not by every round step
    from qc.agreement import AgreementSettings

__all__ = ["ProjectRef", "ensure_annotators", "init_project", "round_guideline", "settings_from_guideline"]


@dataclass(frozen=True)
class ProjectRef:
    project_id: int
    guideline_version_id: int
    name: str
    created: bool


def init_project(session: Session, *, guideline: Guideline, name: str | None = None) -> ProjectRef:
    """Create the project of a guideline (classes and guideline version), or add a new guideline version.

    An existing version string with different text is a :class:`ConflictError`: bump
    ``version`` when the rules change.
    """
    name = name or guideline.name or "project"
    project = project_named(session, name=name)
    created = project is None
    if project is None:
        project = create_project(session, name=name, task_type=guideline.task.value)
        categories = [Category(c.id, c.name, c.kind.value == "thing") for c in guideline.classes]
        add_label_classes(session, project_id=row_id(project), categories=categories)
    version = guideline_version(session, project_id=row_id(project), version=guideline.version)
    if version is None:
        version = add_guideline_version(
            session, project_id=row_id(project), version=guideline.version, text=guideline.text
        )
    elif version.text_hash != guideline.text_hash:
        raise ConflictError(
            f"guideline version {guideline.version!r} of project {name!r} is stored with other text; "
            "bump `version` in the guideline file when you change it",
            path=guideline.source,
            field="version",
        )
    return ProjectRef(row_id(project), row_id(version), name, created)


def ensure_annotators(session: Session, *, names: Iterable[str], role: str = "annotator") -> dict[str, int]:
    """Person ids of ``names``, adding the missing ones with ``role``; an existing person must have it."""
    out: dict[str, int] = {}
    for name in names:
        person = person_named(session, name=name)
        if person is None:
            person = add_person(session, name=name, roles=[role])
        elif role not in person.roles:
            raise ConflictError(
                f"person {name!r} exists without the role {role!r} (roles: {person.roles}); add the role first",
                field="roles",
            )
        out[name] = row_id(person)
    return out


def round_guideline(session: Session, *, round_id: int) -> Guideline:
    """The guideline version a round runs under."""
    round_row = get_row(session, m.Round, round_id)
    if round_row.guideline_version_id is None:
        raise NotFoundError(f"round {round_id} has no guideline version; schedule rounds with qc round schedule")
    version = get_row(session, m.GuidelineVersion, round_row.guideline_version_id)
    return parse_stored(version.text, version.version)


@lru_cache(maxsize=32)
def parse_stored(text: str, version: str) -> Guideline:
    """Stored guideline texts validated once per process (a Guideline is immutable)."""
    return parse_guideline(text, source=f"guideline {version} (stored)")


def settings_from_guideline(guideline: Guideline) -> AgreementSettings:
    """The agreement thresholds a guideline sets."""
    from qc.agreement import AgreementSettings

    t = guideline.thresholds
    return AgreementSettings(
        task=guideline.task.value,
        match_iou=t.match_iou,
        accept_iou=t.accept_iou,
        accept_boundary_iou=t.accept_boundary_iou,
        dilation_ratio=t.dilation_ratio,
        consensus_method=guideline.consensus.method.value,
        strict_majority=guideline.consensus.strict,
        stuff_classes=frozenset(c.id for c in guideline.classes if c.kind.value == "stuff"),
    )


def row_id(row: Any) -> int:
    """The id of a row the store flushed."""
    if row.id is None:  # pragma: no cover - rows are flushed by the store functions
        raise QCError("row has no id yet: flush the session first")
    return int(row.id)
