"""Store functions of the review queue and the reviewer page (qc.store.review) and the accepted-label swap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from bench.review_data import build_round
from qc.store import logins
from qc.store import review as store
from qc.store.db import session_scope
from qc.store.segments import accept_submission_segments, consensus_segments, load_segments

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_a_claim_wins_once_per_version(engine: Engine) -> None:
    built = build_round(engine, images=1)
    rev1, rev2 = built.people["rev1"], built.people["rev2"]
    with session_scope(engine) as s:
        item = store.next_claimable(s, reviewer_id=rev1, at=T0, escalated=False)
        assert item is not None and item.version == 1
        stale = store.find_review_item(s, item_id=int(item.id or 0))
        assert stale is not None
        assert store.take_item(s, item=item, reviewer_id=rev1, lease=T0 + timedelta(minutes=5), at=T0)
        assert item.version == 2  # expired, read again
        assert store.held_item(s, reviewer_id=rev1, at=T0) is not None
        assert store.held_item(s, reviewer_id=rev1, at=T0 + timedelta(minutes=6)) is None
        assert store.next_claimable(s, reviewer_id=rev2, at=T0, escalated=False) is None
        assert not store.close_claim(s, item=item, version=1, reviewer_id=rev1, status="decided", at=T0)
        assert not store.close_claim(s, item=item, version=2, reviewer_id=rev2, status="decided", at=T0)
        assert store.close_claim(s, item=item, version=2, reviewer_id=rev1, status="decided", at=T0)
        assert item.status == "decided" and item.lease_until is None
        assert store.open_item_count(s, round_id=built.round_id) == 0


def test_people_images_and_page_reads(engine: Engine) -> None:
    built = build_round(engine, images=2)
    with session_scope(engine) as s:
        people = logins.people_by_name(s)
        lead = logins.person_ref(s, person_id=built.people["lead"])
        assert logins.person_ref(s, person_id=9_999) is None
        assert store.has_annotated(s, person_id=built.people["ann1"], image_id=built.image_ids[0])
        assert not store.has_annotated(s, person_id=built.people["rev1"], image_id=built.image_ids[0])
        assert store.image_path(s, image_id=9_999) is None
        assert store.flag_kinds(s) == ["boundary_disagreement", "missing_instance"]
        assert store.class_choices(s) == [(1, "car <b>")]
        assert [r.name for r in store.all_rounds(s)] == ["r1"]
        assert logins.person_names(s)[built.people["ann2"]] == "ann2"
    assert [p.name for p in people] == ["ann1", "ann2", "ann3", "lead", "manager", "rev1", "rev2"]
    assert lead is not None and lead.roles == ("lead",)


def test_accepting_a_submission_replaces_the_consensus_with_its_segments(engine: Engine) -> None:
    built = build_round(engine, images=1, instances=3)
    image = built.image_ids[0]
    sub = built.submissions[(image, built.people["ann3"])]
    with session_scope(engine) as s:
        stored = accept_submission_segments(s, round_id=built.round_id, image_id=image, submission_id=sub)
        consensus = consensus_segments(s, round_id=built.round_id, image_id=image)
        theirs = load_segments(s, submission_id=sub)
    assert stored == 3
    assert [c.rle for c in consensus] == [t.rle for t in theirs]
    assert [c.category_id for c in consensus] == [1, 1, 1]
