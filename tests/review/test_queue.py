"""The review queue: leases, exactly-once decisions under concurrency, what each decision stores."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.review_data import build_round
from qc import review
from qc.errors import ConflictError, InvalidOptionError, PermissionDeniedError
from qc.rounds import export_consensus
from qc.store import models as m
from qc.store.api import add_assignments, add_person, list_events
from qc.store.db import session_scope

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_claim_leases_the_next_item_and_an_expired_lease_returns_it(review_engine: Engine) -> None:
    built = build_round(review_engine, images=2)
    rev1, rev2 = built.people["rev1"], built.people["rev2"]
    with session_scope(review_engine) as s:
        first = review.claim(s, reviewer_id=rev1, lease_minutes=10, now=T0)
    with session_scope(review_engine) as s:
        second = review.claim(s, reviewer_id=rev2, now=T0)
        nothing = review.claim(s, reviewer_id=built.people["lead"], now=T0 + timedelta(minutes=5))
    assert first is not None and second is not None
    assert (first.image_id, second.image_id) == (built.image_ids[0], built.image_ids[1])
    assert first.lease_until == T0 + timedelta(minutes=10)
    assert nothing is None
    with session_scope(review_engine) as s:  # rev1's lease ran out: the lead gets that item
        again = review.claim(s, reviewer_id=built.people["lead"], now=T0 + timedelta(minutes=11))
    assert again is not None and again.item_id == first.item_id and again.version == first.version + 1
    with session_scope(review_engine) as s, pytest.raises(ConflictError, match="another reviewer claimed it"):
        review.decide(s, first.item_id, reviewer_id=rev1, version=first.version, kind="accept_consensus",
                      now=T0 + timedelta(minutes=12))  # fmt: skip


def test_a_reviewer_resumes_their_live_claim(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=3)
    with session_scope(sqlite_engine) as s:
        one = review.claim(s, reviewer_id=built.people["rev1"], now=T0)
        two = review.claim(s, reviewer_id=built.people["rev1"], now=T0 + timedelta(minutes=1))
    assert one is not None and two is not None
    assert two.item_id == one.item_id and two.version == one.version + 1


def test_accept_consensus_marks_the_result_and_records_an_event(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    rev = built.people["rev1"]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev, now=T0)
        assert held is not None
        done = review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="accept_consensus",
                             now=T0 + timedelta(minutes=1))  # fmt: skip
    with session_scope(sqlite_engine, write=False) as s:
        result = s.scalars(select(m.ImageResult)).one()
        events = list_events(s, object_type="review_item", object_id=held.item_id, verb="decide")
        item = s.get(m.ReviewItem, held.item_id)
    assert done.status == "decided" and item is not None and item.status == "decided"
    assert result.verdict == "accepted"
    assert result.summary is not None and result.summary["review"]["decision_id"] == done.decision_id
    assert [e.payload["kind"] for e in events] == ["accept_consensus"]
    with session_scope(sqlite_engine) as s, pytest.raises(ConflictError, match="decided already"):
        review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="accept_consensus",
                      now=T0 + timedelta(minutes=2))  # fmt: skip


def test_accept_submission_stores_that_label_for_export(sqlite_engine: Engine, tmp_path: object) -> None:
    built = build_round(sqlite_engine, images=1, instances=3)
    rev, ann3 = built.people["rev1"], built.people["ann3"]
    sub = built.submissions[(built.image_ids[0], ann3)]
    with session_scope(sqlite_engine) as s:
        held = review.claim(s, reviewer_id=rev, now=T0)
        assert held is not None
        with pytest.raises(InvalidOptionError, match="needs a submission"):
            review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="accept_submission",
                          submission_id=999_999, now=T0)  # fmt: skip
        review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="accept_submission",
                      submission_id=sub, now=T0)  # fmt: skip
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
        done = review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="rework",
                             feedback={ann2: "trace the <b>mirror</b>"}, now=T0)  # fmt: skip
    with session_scope(sqlite_engine, write=False) as s:
        rework = s.get(m.Round, done.rework_round_id)
        pairs = s.execute(select(m.Assignment.image_id, m.Assignment.kind).where(
            m.Assignment.round_id == done.rework_round_id)).all()  # fmt: skip
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
        review.decide(s, held.item_id, reviewer_id=rev, version=held.version, kind="escalate",
                      note="is a mirror a car?", now=T0)  # fmt: skip
    with session_scope(sqlite_engine) as s:
        assert review.claim(s, reviewer_id=built.people["rev2"], now=T0) is None
        by_lead = review.claim(s, reviewer_id=lead, now=T0)
        assert by_lead is not None and by_lead.item_id == held.item_id
        final = review.decide(s, held.item_id, reviewer_id=lead, version=by_lead.version, kind="accept_consensus",
                              now=T0)  # fmt: skip
    assert final.status == "decided"


def test_a_reviewer_never_reviews_an_image_they_annotated(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=2)
    with session_scope(sqlite_engine) as s:
        both = add_person(s, name="both", roles=["annotator", "reviewer"]).id
        assert both is not None
        add_assignments(s, round_id=built.round_id, pairs=[(built.image_ids[0], both)])
        held = review.claim(s, reviewer_id=both, now=T0)
        assert held is not None and held.image_id == built.image_ids[1]
        lead_claim = review.claim(s, reviewer_id=built.people["lead"], now=T0)
        assert lead_claim is not None and lead_claim.image_id == built.image_ids[0]
        with pytest.raises(PermissionDeniedError, match="annotated image"):
            review.reassign(s, lead_claim.item_id, lead_id=built.people["lead"], to_person_id=both, now=T0)
        with pytest.raises(PermissionDeniedError, match="never reviews their own work"):
            review.decide(s, lead_claim.item_id, reviewer_id=both, version=lead_claim.version,
                          kind="accept_consensus", now=T0)  # fmt: skip
        with pytest.raises(PermissionDeniedError, match="reviewer or lead role"):
            review.claim(s, reviewer_id=built.people["ann1"], now=T0)


def test_tokens_are_stored_hashed(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    with session_scope(sqlite_engine) as s:
        token = review.issue_token(s, person_id=built.people["rev1"])
        person = s.get(m.Person, built.people["rev1"])
        assert person is not None and person.token_hash == review.hash_token(token) != token
        found = review.person_for_token(s, token)
        assert found is not None and found.name == "rev1"
        assert review.person_for_token(s, "token-rev1") is None  # the old token no longer works
        assert review.person_for_token(s, "") is None


def _worker(engine: Engine, reviewer_id: int, errors: list[BaseException], retries: Counter[str]) -> None:
    try:
        while True:
            with session_scope(engine) as s:
                held = review.claim(s, reviewer_id=reviewer_id, lease_minutes=60)
            if held is None:
                return
            try:
                with session_scope(engine) as s:
                    review.decide(s, held.item_id, reviewer_id=reviewer_id, version=held.version,
                                  kind="accept_consensus")  # fmt: skip
            except ConflictError:
                retries["conflict"] += 1
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def test_eight_workers_decide_500_items_exactly_once(review_engine: Engine) -> None:
    built = build_round(review_engine, images=500, height=16, width=16, instances=1, reviewers=8)
    reviewers = [built.people[f"rev{i}"] for i in range(1, 9)]
    errors: list[BaseException] = []
    retries: Counter[str] = Counter()
    threads = [threading.Thread(target=_worker, args=(review_engine, r, errors, retries)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(review_engine, write=False) as s:
        per_item = Counter(s.scalars(select(m.Decision.review_item_id)).all())
        statuses = Counter(s.scalars(select(m.ReviewItem.status)).all())
        deciders = s.scalar(select(func.count(func.distinct(m.Decision.reviewer_id))))
    assert len(per_item) == 500 and set(per_item.values()) == {1}
    assert statuses == {"decided": 500}
    assert retries["conflict"] == 0  # leases are long: no claim is ever taken from a live holder
    assert deciders is not None and deciders >= 2
