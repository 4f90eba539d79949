"""The review queue: leases, resumed claims, who may claim, exactly-once decisions under concurrency."""

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
from qc.errors import ConflictError, PermissionDeniedError
from qc.store import models as m
from qc.store.api import add_assignments, add_person
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
    later = T0 + timedelta(minutes=12)
    with session_scope(review_engine) as s, pytest.raises(ConflictError, match="another reviewer claimed it"):
        review.decide(s, first.item_id, reviewer_id=rev1, version=first.version, kind="accept_consensus", now=later)


def test_a_reviewer_resumes_their_live_claim(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=3)
    with session_scope(sqlite_engine) as s:
        one = review.claim(s, reviewer_id=built.people["rev1"], now=T0)
        two = review.claim(s, reviewer_id=built.people["rev1"], now=T0 + timedelta(minutes=1))
    assert one is not None and two is not None
    assert two.item_id == one.item_id and two.version == one.version + 1


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
            review.decide(
                s, lead_claim.item_id, reviewer_id=both, version=lead_claim.version, kind="accept_consensus", now=T0
            )
        with pytest.raises(PermissionDeniedError, match="reviewer or lead role"):
            review.claim(s, reviewer_id=built.people["ann1"], now=T0)


def _worker(engine: Engine, reviewer_id: int, errors: list[BaseException], retries: Counter[str]) -> None:
    try:
        while True:
            with session_scope(engine) as s:
                held = review.claim(s, reviewer_id=reviewer_id, lease_minutes=60)
            if held is None:
                return
            try:
                with session_scope(engine) as s:
                    review.decide(
                        s, held.item_id, reviewer_id=reviewer_id, version=held.version, kind="accept_consensus"
                    )
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
