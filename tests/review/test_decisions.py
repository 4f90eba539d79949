"""Decisions: what each kind needs and stores (label, result, rework round, escalation), and stale decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.review_data import build_round
from qc import review
from qc.errors import ConflictError, InvalidOptionError
from qc.rounds import export_consensus
from qc.store import models as m
from qc.store.api import list_events
from qc.store.db import session_scope

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_accept_consensus_marks_the_result_and_records_an_event(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    rev = built.people["rev1"]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev, now=T0)
        assert held is not None
        done = review.decide(
            s,
            held.item_id,
            reviewer_id=rev,
            version=held.version,
            kind="accept_consensus",
            now=T0 + timedelta(minutes=1),
        )
    with session_scope(sqlite_engine, write=False) as s:
        result = s.scalars(select(m.ImageResult)).one()
        events = list_events(s, object_type="review_item", object_id=held.item_id, verb="decide")
        item = s.get(m.ReviewItem, held.item_id)
    assert done.status == "decided" and item is not None and item.status == "decided"
    assert result.verdict == "accepted"
    assert result.summary is not None and result.summary["review"]["decision_id"] == done.decision_id
    assert [e.payload["kind"] for e in events] == ["accept_consensus"]
    later = T0 + timedelta(minutes=2)
    with session_scope(sqlite_engine) as s, pytest.raises(ConflictError, match="decided already"):
        review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="accept_consensus", now=later)


def test_accept_submission_stores_that_label_for_export(sqlite_engine: Engine, tmp_path: object) -> None:
    built = build_round(sqlite_engine, images=1, instances=3)
    rev, ann3 = built.people["rev1"], built.people["ann3"]
    sub = built.submissions[(built.image_ids[0], ann3)]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev, now=T0)
        assert held is not None
        with pytest.raises(InvalidOptionError, match="needs a submission"):
            review.decide(
                s,
                held.item_id,
                reviewer_id=rev,
                version=held.version,
                kind="accept_submission",
                submission_id=999_999,
                now=T0,
            )
        review.decide(
            s, held.item_id, reviewer_id=rev, version=held.version, kind="accept_submission", submission_id=sub, now=T0
        )
    with session_scope(sqlite_engine, write=False) as s:
        stored = s.scalars(select(m.ConsensusSegment)).all()
        theirs = s.scalars(select(m.Segment).where(m.Segment.submission_id == sub)).all()
        decision = s.scalars(select(m.Decision)).one()
        count = export_consensus(s, round_id=built.round_id, image_ids=built.image_ids, path=f"{tmp_path}/out.json")
    assert {c.method for c in stored} == {f"submission:{sub}"}
    assert sorted(c.rle_counts for c in stored) == sorted(t.rle_counts for t in theirs)
    assert decision.target_submission_id == sub and count == 1


def test_rework_opens_a_rework_round_with_feedback(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=2)
    rev, ann2 = built.people["rev1"], built.people["ann2"]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev, now=T0)
        assert held is not None
        with pytest.raises(InvalidOptionError, match="needs feedback"):
            review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="rework", feedback={}, now=T0)
        done = review.decide(
            s,
            held.item_id,
            reviewer_id=rev,
            version=held.version,
            kind="rework",
            feedback={ann2: "trace the <b>mirror</b>"},
            now=T0,
        )
    with session_scope(sqlite_engine, write=False) as s:
        rework = s.get(m.Round, done.rework_round_id)
        pairs = s.execute(
            select(m.Assignment.image_id, m.Assignment.kind).where(m.Assignment.round_id == done.rework_round_id)
        ).all()
        mine = review.feedback_for(s, annotator_id=ann2)
        others = review.feedback_for(s, annotator_id=built.people["ann1"])
    assert rework is not None and rework.kind == "rework"
    assert sorted(pairs) == [(held.image_id, "rework")] * 3
    assert [f.text for f in mine] == ["trace the <b>mirror</b>"] and others == []


def test_escalated_items_go_to_leads_only(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    rev, lead = built.people["rev1"], built.people["lead"]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev, now=T0)
        assert held is not None
        with pytest.raises(InvalidOptionError, match="needs a note"):
            review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="escalate", now=T0)
        review.decide(
            s, held.item_id, reviewer_id=rev, version=held.version, kind="escalate", note="is a mirror a car?", now=T0
        )
    with session_scope(sqlite_engine) as s:
        assert review.claim(s, reviewer_id=built.people["rev2"], now=T0) is None
        by_lead = review.claim(s, reviewer_id=lead, now=T0)
        assert by_lead is not None and by_lead.item_id == held.item_id
        final = review.decide(
            s, held.item_id, reviewer_id=lead, version=by_lead.version, kind="accept_consensus", now=T0
        )
    assert final.status == "decided"
