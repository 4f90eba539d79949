"""The report's reliability sections on a hand-built adaptive round (issue 16 items 2, 4, 5).

Three images, two annotators each first (``k_initial: 2, k_max: 3``): on images 1 and 2 the pair
draws the same box (PQ 1); on image 3 the pair draws boxes apart (PQ 0: one unmatched object
each, TP + ½ FP + ½ FN = 1), so it escalates; its follow-up annotator draws the first one's box
(PQ 1 with them, 0 with the other). Agreement, pooled over images as a ratio of sums:

- first-pass pairs on every image: (1 + 1 + 0) / 3 = 2/3 (the unbiased figure);
- first-pass pairs on the settled images: 1; on the escalated image: 0;
- pairs with the follow-up annotator: (1 + 0) / 2 = 1/2;
- pooled over every pair: (1 + 1 + 0 + 1 + 0) / 5 = 3/5 (biased by escalation).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc import rounds
from qc.store import db
from reports.build import ReportOptions, render_feedback, render_report, report_data
from reports.load import load_tables
from reports.reliability_sections import PASS_ROWS, pass_agreement_frame, reliability_frame
from tests.support.rounds import assigned, deliver, engine, setup_round

__all__ = ["engine"]

SAME, APART = (5, 5), (40, 40)


def _deliver_owed(engine: Engine, round_id: int, folder: Path, boxes: dict[int, dict[str, tuple[int, int]]]) -> None:
    names = sorted({n for per in boxes.values() for n in per})
    for name in names:
        mine = [i for i in sorted(boxes) if name in boxes[i]]
        deliver(folder, name, mine, {i: [boxes[i][name]] for i in mine})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=folder)


def _score(engine: Engine, round_id: int) -> None:
    with db.session_scope(engine) as session:
        rounds.score_images(session, round_id=round_id, image_ids=rounds.pending_images(session, round_id=round_id))


@pytest.fixture
def escalated(engine: Engine, tmp_path: Path) -> tuple[Engine, int, list[int]]:
    round_id, ids = setup_round(engine, images=3)
    with db.session_scope(engine, write=False) as session:
        pairs = {i: assigned(session, round_id, i) for i in ids}
    first = {i: {n: SAME for n in pairs[i]} for i in ids[:2]}
    first[ids[2]] = {pairs[ids[2]][0]: SAME, pairs[ids[2]][1]: APART}
    _deliver_owed(engine, round_id, tmp_path / "d1", first)
    _score(engine, round_id)
    with db.session_scope(engine, write=False) as session:
        (followup,) = set(assigned(session, round_id, ids[2])) - set(pairs[ids[2]])
    _deliver_owed(engine, round_id, tmp_path / "d2", {ids[2]: {followup: SAME}})
    _score(engine, round_id)
    return engine, round_id, ids


def test_agreement_of_first_pass_pairs_is_shown_apart_from_escalated_images(
    escalated: tuple[Engine, int, list[int]],
) -> None:
    engine, round_id, _ = escalated
    with db.session_scope(engine, write=False) as session:
        frame = pass_agreement_frame(load_tables(session, round_ids=[round_id]), resamples=50).set_index("set")
    assert list(frame.index) == list(PASS_ROWS)
    expected = {  # set: (images, pairs, PQ)
        "first_pass": (3, 3, 2 / 3),
        "first_pass_settled": (2, 2, 1.0),
        "first_pass_escalated": (1, 1, 0.0),
        "followup": (1, 2, 0.5),
        "pooled": (3, 5, 0.6),
    }
    for key, (images, pairs, pq) in expected.items():
        row = frame.loc[key]
        assert (row["images"], row["pairs"]) == (images, pairs), key
        assert row["pq"] == pytest.approx(pq), key
        assert row["pq_low"] <= row["pq"] <= row["pq_high"], key
    assert frame.loc["first_pass", "iou"] == 1.0  # matched objects are identical boxes
    assert "biased" in frame.loc["pooled", "label"] and "unbiased" in frame.loc["first_pass", "label"]


def test_reliability_is_in_the_report_per_round_and_project_and_each_feedback_page_shows_only_its_own(
    escalated: tuple[Engine, int, list[int]],
) -> None:
    engine, round_id, _ = escalated
    with db.session_scope(engine, write=False) as session:
        frame = reliability_frame(load_tables(session, round_ids=[round_id]))
        report = report_data(session, round_id=round_id, options=ReportOptions(resamples=20, thumbnails=0))
    assert list(frame["scope"]) == ["r1"] * 3 + ["project"] * 3
    assert list(frame["annotator"]) == ["ann", "bob", "cy"] * 2
    rows = frame.set_index(["scope", "annotator"])
    for scope in ("r1", "project"):
        objects = rows.xs(scope)["objects"]
        assert objects.sum() > 0 and (rows.xs(scope)["class_error_rate"].fillna(0.0) == 0.0).all()
        assert (rows.xs(scope)["boundary_iou"].dropna() == 1.0).all()  # every matched box is the same box
    html = render_report(report)
    assert 'id="reliability"' in html and "Project (every scored round)" in html and "Round r1" in html
    assert "first-pass pairs, every image (unbiased)" in html
    for name in ("ann", "bob", "cy"):
        page = render_feedback(report, annotator=name)
        assert "Your reliability" in page
        others = {"ann", "bob", "cy"} - {name}
        assert page.count("<h3>") == 2  # their round and their project rows, nobody else's
        assert not any(f"<td>{other}</td>" in page for other in others)
