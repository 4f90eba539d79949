"""Closing: review items queued, one rework round per new rework decision, accepted labels exported."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from qc import rounds
from qc.store import db
from qc.store import models as m
from tests.support.rounds import assigned, deliver_all, setup_round


def test_close_queues_review_and_opens_one_rework_round_per_decision(engine: Engine, tmp_path: Path) -> None:
    round_id, (image, other) = setup_round(engine)
    people = deliver_all(engine, round_id, [image, other], {image: [(5, 5)], other: [(20, 20)]}, tmp_path / "d")
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d")
        rounds.score_images(session, round_id=round_id, image_ids=[image, other])
        first = rounds.close_round(session, round_id=round_id, export_path=tmp_path / "out.json")
    assert first.status == "closed" and sorted(first.accepted) == sorted([image, other])
    assert first.exported_images == 2 and first.rework_round_id is None
    with db.session_scope(engine) as session:  # a reviewer sent `image` back
        item = m.ReviewItem(round_id=round_id, image_id=image, status="decided")
        session.add(item)
        session.flush()
        session.add(m.Decision(review_item_id=item.id or 0, reviewer_id=1, kind="rework", note="redo the edge"))
    with db.session_scope(engine) as session:
        second = rounds.close_round(session, round_id=round_id)
        third = rounds.close_round(session, round_id=round_id)
        rework_people = assigned(session, second.rework_round_id or 0, image)
    assert second.rework_round_id is not None and third.rework_round_id is None
    assert rework_people == people[image]
