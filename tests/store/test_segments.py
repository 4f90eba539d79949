"""Segment rows: loading several submissions at once equals loading them one by one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from qc import rounds
from qc.store import db
from qc.store.ingest import latest_submissions
from qc.store.segments import load_segments, load_segments_of
from tests.support.rounds import deliver_all, setup_round


def test_batch_segment_loading_equals_one_by_one(engine: Engine, tmp_path: Path) -> None:
    round_id, (image, other) = setup_round(engine)
    deliver_all(engine, round_id, [image, other], {image: [(5, 5), (30, 30)], other: []}, tmp_path / "d")
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d")
        ids = [ref.submission_id for ref in latest_submissions(session, round_id=round_id)]
        batch = load_segments_of(session, submission_ids=ids)
        assert batch == {sid: load_segments(session, submission_id=sid) for sid in ids}
    assert sorted(len(v) for v in batch.values()) == [0, 0, 2, 2]  # `other` was delivered empty
