"""Scoring: adaptive overlap (a disagreement escalates to a third annotator), idempotence, incomplete images."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import rounds
from qc.errors import QCError
from qc.store import db
from qc.store import models as m
from tests.support.rounds import assigned, deliver, setup_round


def test_disagreement_escalates_to_a_third_annotator_who_settles_it(engine: Engine, tmp_path: Path) -> None:
    round_id, (image, other) = setup_round(engine)
    with db.session_scope(engine) as session:
        first = assigned(session, round_id, image)
        others = assigned(session, round_id, other)
    # on `image` the first two annotators disagree (one misses the second box); on `other` they agree
    for name in sorted(set(first) | set(others)):
        mine = [i for i, people in ((image, first), (other, others)) if name in people]
        boxes = {image: [(5, 5), (40, 40)] if name == first[0] else [(5, 5)], other: [(20, 20)]}
        deliver(tmp_path / "d1", name, mine, boxes)
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d1")
        assert sorted(rounds.pending_images(session, round_id=round_id)) == sorted([image, other])
        outcomes = {o.image_id: o for o in rounds.score_images(session, round_id=round_id, image_ids=[image, other])}
    assert outcomes[other].verdict == "accepted" and outcomes[other].labels == 2
    assert outcomes[image].verdict == "escalate"
    third = outcomes[image].followup
    assert third is not None and third not in first
    with db.session_scope(engine) as session:
        assert assigned(session, round_id, image) == sorted([*first, third])
        assert rounds.pending_images(session, round_id=round_id) == []  # the third has not delivered
    deliver(tmp_path / "d2", third, [image], {image: [(5, 5), (40, 40)]})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d2")
        assert rounds.pending_images(session, round_id=round_id) == [image]
        (again,) = rounds.score_images(session, round_id=round_id, image_ids=[image])
    assert again.verdict == "accepted" and again.labels == 3
    assert again.findings == {"missed": 1}  # the annotator who missed the box gets feedback, not a review
    with db.session_scope(engine, write=False) as session:
        status = rounds.round_status(session, round_id=round_id)
        assert status.labels_per_accepted == pytest.approx(2.5)
        assert session.scalar(select(func.count()).select_from(m.ImageResult)) == 2


def test_scoring_an_incomplete_image_is_refused(engine: Engine) -> None:
    round_id, (image, _) = setup_round(engine)
    with db.session_scope(engine) as session, pytest.raises(QCError, match="0 of 2 annotators delivered"):
        rounds.score_images(session, round_id=round_id, image_ids=[image])
