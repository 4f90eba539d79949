"""qc.store.audit: the consistency reads find nothing on a sound round and find what breaks a promise."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from qc import rounds
from qc.store import audit, db
from qc.store import models as m
from tests.support.rounds import deliver_all, setup_round


def _scored_round(engine: Engine, tmp_path: Path) -> int:
    round_id, images = setup_round(engine)
    deliver_all(engine, round_id, images, {i: [(5, 5)] for i in images}, tmp_path)
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path)
        rounds.score_images(session, round_id=round_id, image_ids=images)
    return round_id


def test_a_sound_round_shows_no_problem_and_its_contents(engine: Engine, tmp_path: Path) -> None:
    round_id = _scored_round(engine, tmp_path)
    with db.session_scope(engine, write=False) as session:
        assert audit.duplicated_results(session, round_id=round_id) == {}
        assert audit.short_submissions(session) == []
        assert audit.count_rows(session, model=m.Submission) == 4 == len(audit.submission_contents(session))
        verdicts = audit.round_verdicts(session, round_id=round_id)
        assert [v for _, v, _ in verdicts] == ["accepted", "accepted"]
        contents = audit.round_contents(session, round_id=round_id)
    assert set(contents) == set(audit.ROUND_TABLES) and len(contents["image_result"]) == 2
    assert len(contents["consensus_segment"]) == 2 and contents["flag"] == []


def test_a_submission_missing_segments_is_found(engine: Engine, tmp_path: Path) -> None:
    round_id = _scored_round(engine, tmp_path)
    with db.session_scope(engine) as session:
        submission = session.get(m.Submission, 1)
        assert submission is not None
        submission.segment_count = 3
        session.add(submission)
    with db.session_scope(engine, write=False) as session:
        assert audit.short_submissions(session) == [audit.ShortSubmission(1, 1, 3)]
        assert audit.round_verdicts(session, round_id=round_id + 1) == []
