"""What the command line and the page show: frozen views whose ``to_dict()`` keeps the plain-data shape."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.engine import Engine

from bench.review_data import build_round
from qc import review
from qc.store.db import session_scope


def test_item_view_numbers_annotators_and_shows_flags_with_boxes(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=built.people["rev1"])
        assert held is not None
        view = review.item_view(s, held.item_id)
    assert [(a.number, a.name) for a in view.annotators] == [(1, "ann1"), (2, "ann2"), (3, "ann3")]
    assert view.annotators[1].submission_id == built.submissions[(built.image_ids[0], built.people["ann2"])]
    assert view.item.claimed_by == "rev1" and view.item.version == held.version and view.item.lease_until
    assert [f.kind for f in view.flags] == ["boundary_disagreement", "missing_instance"]  # most severe first
    first = view.flags[0]
    assert first.class_name == "car <b>" and first.annotators == ("ann3",) and first.bbox is not None
    assert view.flags[1].class_name is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.item.status = "decided"  # type: ignore[misc]


def test_item_view_to_dict_keeps_the_plain_shape(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    rev, ann2 = built.people["rev1"], built.people["ann2"]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev)
        assert held is not None
        review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="rework", feedback={ann2: "redo"})
        plain = review.item_view(s, held.item_id).to_dict()
    assert list(plain) == ["item", "image", "annotators", "flags", "decisions", "reopened"]
    assert list(plain["item"]) == ["id", "round_id", "status", "version", "claimed_by", "claimed_by_id", "lease_until"]
    assert plain["image"] == {"id": built.image_ids[0], "file_name": "img0000.png", "width": 64, "height": 48}
    assert list(plain["annotators"][0]) == ["number", "id", "name", "submission_id", "rejected", "rejections"]
    flag = plain["flags"][0]
    assert list(flag) == ["id", "kind", "level", "severity", "message", "class", "bbox", "annotators"]
    assert isinstance(flag["bbox"], list) and flag["annotators"] == ["ann3"] and flag["class"] == "car <b>"
    assert plain["decisions"] == [
        {
            "id": plain["decisions"][0]["id"],
            "kind": "rework",
            "reviewer": "rev1",
            "note": "",
            "feedback": {"ann2": "redo"},
            "submission_id": None,
        }
    ]
    assert plain["reopened"] == []


def test_queue_rows_filter_by_flag_class_annotator_status_and_holder(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=3)
    rev1 = built.people["rev1"]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev1)
        assert held is not None
        every = review.queue_rows(s)
        assert [r.id for r in every] == [1, 2, 3]
        assert every[0].flag_kinds == ("boundary_disagreement", "missing_instance") and every[0].categories == (1,)
        assert every[0].annotators == tuple(built.people[f"ann{i}"] for i in (1, 2, 3))
        assert len(review.queue_rows(s, flag_kind="missing_instance")) == 3
        assert review.queue_rows(s, flag_kind="no_such_kind") == []
        assert review.queue_rows(s, category_id=2) == []
        assert review.queue_rows(s, annotator_id=rev1) == []
        assert [r.id for r in review.queue_rows(s, claimed_by=rev1)] == [held.item_id]
        assert [r.id for r in review.queue_rows(s, status="pending")] == [2, 3]
        plain = every[0].to_dict()
    assert plain["flag_kinds"] == ["boundary_disagreement", "missing_instance"] and plain["categories"] == [1]
    assert plain["status"] == "claimed" and plain["claimed_by"] == rev1 and plain["file_name"] == "img0000.png"


def test_feedback_rows_and_overlay_layers(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1, instances=3)
    rev, ann1 = built.people["rev1"], built.people["ann1"]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev)
        assert held is not None
        layers = review.item_layers(s, held.item_id)
        review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="rework", feedback={ann1: "x"})
        rows = review.feedback_for(s, annotator_id=ann1)
    assert (layers.height, layers.width) == (48, 64)
    assert [len(a) for a in layers.annotators] == [3, 3, 3] and len(layers.consensus) == 3
    assert layers.annotators[0] == layers.consensus  # the consensus is the first annotator's rectangles
    assert [r.to_dict() for r in rows] == [
        {"decision_id": rows[0].decision_id, "round_id": built.round_id, "file_name": "img0000.png", "text": "x"}
    ]
