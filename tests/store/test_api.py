"""Store functions for projects, people, rounds and assignments."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from qc.core import Category, ImageInfo
from qc.errors import ConflictError, InvalidOptionError, NotFoundError
from qc.store import api, db, models


def test_project_names_and_task_types_are_checked(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        project = api.create_project(session, name="p", task_type="panoptic")
        assert project.id is not None and project.task_type == "panoptic"
        with pytest.raises(
            InvalidOptionError, match="task_type must be one of semantic, instance, panoptic; got 'boxes'"
        ):
            api.create_project(session, name="q", task_type="boxes")
        with pytest.raises(ConflictError, match="exists already"):
            api.create_project(session, name="p", task_type="instance")


def test_label_classes_and_guideline_versions(engine: Engine) -> None:
    text = "version: 1\nclasses: []\n"
    with db.session_scope(engine) as session:
        project_id = api.create_project(session, name="p", task_type="panoptic").id or 0
        rows = api.add_label_classes(
            session, project_id=project_id, categories=[Category(1, "car"), Category(2, "road", isthing=False)]
        )
        guideline = api.add_guideline_version(session, project_id=project_id, version="1", text=text)
        round_row = api.create_round(
            session, project_id=project_id, kind="gold", k=1, guideline_version_id=guideline.id
        )
    assert [(r.class_id, r.name, r.kind) for r in rows] == [(1, "car", "thing"), (2, "road", "stuff")]
    assert guideline.text_hash == hashlib.sha256(text.encode()).hexdigest()
    assert (round_row.kind, round_row.status, round_row.guideline_version_id) == ("gold", "open", guideline.id)


def test_add_images_reuses_same_file_names_and_refuses_other_sizes(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        project_id = api.create_project(session, name="p", task_type="instance").id or 0
        first = api.add_images(
            session, project_id=project_id, images=[ImageInfo(1, "a.png", 4, 5)], paths={"a.png": "/data/a.png"}
        )
        again = api.add_images(
            session, project_id=project_id, images=[ImageInfo(9, "a.png", 4, 5), ImageInfo(2, "b.png", 2, 3)]
        )
        assert again[0].id == first[0].id and first[0].path == "/data/a.png"
        assert (again[1].height, again[1].width) == (2, 3)
        with pytest.raises(ConflictError, match=r"stored as 4x5 \(h x w\) but given as 5x4"):
            api.add_images(session, project_id=project_id, images=[ImageInfo(1, "a.png", 5, 4)])


def test_people_have_checked_roles(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        person = api.add_person(session, name="ann", roles=["reviewer", "annotator", "reviewer"], token_hash="h")
        assert person.roles == ["annotator", "reviewer"]
        with pytest.raises(
            InvalidOptionError, match="roles must be one of annotator, reviewer, lead, manager, model; got 'boss'"
        ):
            api.add_person(session, name="bad", roles=["boss"])
    with db.session_scope(engine) as session:
        assert api.find_person(session, name="ann").roles == ["annotator", "reviewer"]
        with pytest.raises(NotFoundError, match="no person named 'nobody'"):
            api.find_person(session, name="nobody")


def test_assignments_are_unique_and_adding_them_again_adds_nothing(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        project_id = api.create_project(session, name="p", task_type="instance").id or 0
        image_id = api.add_images(session, project_id=project_id, images=[ImageInfo(1, "a.png", 4, 5)])[0].id or 0
        annotator_id = api.add_person(session, name="ann", roles=["annotator"]).id or 0
        round_id = api.create_round(session, project_id=project_id).id or 0
        assert api.add_assignments(session, round_id=round_id, pairs=[(image_id, annotator_id)] * 2) == 1
        assert api.add_assignments(session, round_id=round_id, pairs=[(image_id, annotator_id)]) == 0
        with pytest.raises(NotFoundError, match=r"images \[777\] are not in project"):
            api.add_assignments(session, round_id=round_id, pairs=[(777, annotator_id)])
    with pytest.raises(IntegrityError), db.session_scope(engine) as session:
        session.add(models.Assignment(round_id=round_id, image_id=image_id, annotator_id=annotator_id))
        session.flush()
    with db.session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Assignment)) == 1
        assert len(api.list_assignments(session, round_id=round_id, annotator_id=annotator_id)) == 1


def test_rounds_check_their_kind_and_k(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        project_id = api.create_project(session, name="p", task_type="instance").id or 0
        with pytest.raises(InvalidOptionError, match="kind must be one of consensus, gold, rework; got 'weekly'"):
            api.create_round(session, project_id=project_id, kind="weekly")
        with pytest.raises(InvalidOptionError, match="k must be at least 1; got 0"):
            api.create_round(session, project_id=project_id, k=0)
        with pytest.raises(NotFoundError, match="no project with id 42"):
            api.create_round(session, project_id=42)
