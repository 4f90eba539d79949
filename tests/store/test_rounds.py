"""qc.store.rounds: the reads and writes the application layer needs, on every backend."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from qc.core import Category, ImageInfo
from qc.errors import InvalidOptionError
from qc.store import api, db
from qc.store import models as m
from qc.store import rounds as store


def _round(session: Session) -> tuple[int, list[int], list[int]]:
    """Project ``p`` (classes 2 ``road`` stuff, 1 ``car`` thing; guideline versions 1 and 2), three images,
    people ``ann`` (annotator) and ``net`` (model), round ``r1`` where ann owes images 1 and 2 and net image 1."""
    project_id = api.create_project(session, name="p", task_type="instance").id or 0
    api.add_label_classes(session, project_id=project_id, categories=[Category(2, "road", False), Category(1, "car")])
    for version in ("1", "2"):
        api.add_guideline_version(session, project_id=project_id, version=version, text=f"version: {version}")
    infos = [ImageInfo(i, f"{name}.png", 4, 5) for i, name in enumerate("cab")]
    images = [row.id or 0 for row in api.add_images(session, project_id=project_id, images=infos)]
    people = [api.add_person(session, name=n, roles=[r]).id or 0 for n, r in (("ann", "annotator"), ("net", "model"))]
    round_id = api.create_round(session, project_id=project_id, name="r1").id or 0
    pairs = [(images[0], people[0]), (images[1], people[0]), (images[0], people[1])]
    api.add_assignments(session, round_id=round_id, pairs=pairs)
    return round_id, images, people


def test_projects_guidelines_images_and_classes_are_found(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        round_id, images, _ = _round(session)
        project = store.project_named(session, name="p")
        assert project is not None and store.project_named(session, name="q") is None
        project_id = project.id or 0
        version = store.guideline_version(session, project_id=project_id, version="1")
        assert version is not None and version.text == "version: 1"
        assert store.guideline_version(session, project_id=project_id, version="3") is None
        newest = store.newest_guideline_version(session, project_id=project_id)
        assert newest is not None and newest.version == "2"
        assert store.newest_guideline_version(session, project_id=project_id + 1) is None
        assert store.project_image_ids(session, project_id=project_id) == sorted(images)
        assert [i.file_name for i in store.images_by_id(session, image_ids=[images[2], images[0], 10**6])] == [
            "c.png",
            "b.png",
        ]
        assert store.round_categories(session, round_id=round_id) == [Category(1, "car"), Category(2, "road", False)]


def test_people_rounds_and_assignments_are_read(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        round_id, images, (ann, net) = _round(session)
        person = store.person_named(session, name="ann")
        assert person is not None and person.id == ann and store.person_named(session, name="zoe") is None
        assert store.list_people(session) == [
            store.PersonRow(ann, "ann", ("annotator",)),
            store.PersonRow(net, "net", ("model",)),
        ]
        project_id = api.find_project(session, name="p").id or 0
        assert store.round_named(session, project_id=project_id, name="r1") == round_id
        assert store.round_named(session, project_id=project_id, name="r2") is None
        assert [i.file_name for i in store.round_images(session, round_id=round_id)] == ["c.png", "a.png"]
        assert store.annotator_ids(session, round_id=round_id) == sorted([ann, net])
        assert store.assignment_load(session, round_id=round_id) == Counter({ann: 2, net: 1})
        pairs = store.assignment_pairs(session, round_id=round_id, image_ids=[images[0]])
        assert sorted(pairs) == sorted([(images[0], ann), (images[0], net)])
        owed = store.undelivered_images(session, round_id=round_id)
        assert sorted((o.annotator, o.file_name) for o in owed) == [
            ("ann", "a.png"),
            ("ann", "c.png"),
            ("net", "c.png"),
        ]
        assert all(isinstance(o, store.OwedImage) for o in owed)


def test_round_status_is_set_and_checked(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        round_id, _, _ = _round(session)
        closed = store.set_round_status(session, round_id=round_id, status="closed")
        assert closed.status == "closed" and closed.closed_at is not None
        again = store.set_round_status(session, round_id=round_id, status="closed")
        assert again.closed_at == closed.closed_at  # the same status changes nothing
        assert store.set_round_status(session, round_id=round_id, status="open").closed_at is None
        with pytest.raises(InvalidOptionError, match="status must be one of open, scoring, review, closed; got 'x'"):
            store.set_round_status(session, round_id=round_id, status="x")


def test_rework_decisions_and_open_review_items(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        round_id, images, (ann, _) = _round(session)
        assert store.rework_decisions(session, round_id=round_id) == []
        assert store.open_review_count(session, round_id=round_id) == 0
        items = []
        for image_id, status in zip(images, ("pending", "claimed", "decided"), strict=True):
            items.append(m.ReviewItem(round_id=round_id, image_id=image_id, status=status))
        session.add_all(items)
        session.flush()
        decisions = [
            m.Decision(review_item_id=items[2].id or 0, reviewer_id=ann, kind="accept_consensus"),
            m.Decision(review_item_id=items[2].id or 0, reviewer_id=ann, kind="rework", feedback={"ann": "edge"}),
            m.Decision(review_item_id=items[1].id or 0, reviewer_id=ann, kind="rework", note="redo"),
        ]
        session.add_all(decisions)
        session.flush()
        assert store.open_review_count(session, round_id=round_id) == 2
        assert store.rework_decisions(session, round_id=round_id) == [
            store.ReworkDecision(decisions[1].id or 0, images[2], "", {"ann": "edge"}),
            store.ReworkDecision(decisions[2].id or 0, images[1], "redo", {}),
        ]
