"""Reliability in the round (issue 16): observations stored by scoring, figures stored per round and
project, annotators paused for failing gold, first-pass pairs and the settle policy from stored figures.

Hand-built rounds of 12 x 12 boxes in a 64 x 64 frame (``tests/support/rounds.py``): who draws
what is fixed per annotator, so every figure below is counted by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc import rounds
from qc.core import ImageInfo, Segment
from qc.guideline import parse_guideline
from qc.store import db
from qc.store.api import add_images
from qc.store.reliability import reliability_rows, replace_reliability, round_observations
from qc.store.results import list_image_results
from qc.store.rounds import list_people
from qc.store.segments import add_gold_segments, consensus_segments
from reports.build import ReportOptions, render_report, report_data
from tests.support.rounds import GUIDELINE, H, W, assigned, deliver, rect

FIXED = GUIDELINE.replace("routing: {k: 3, k_initial: 2, k_max: 3}", "routing: {k: 3}")
A, B, FAR = (5, 5), (6, 5), (40, 40)
"""Box places: A and B overlap (IoU 132/156 = 0.846), FAR overlaps neither."""


def _project(engine: Engine, guideline: str, images: int) -> tuple[int, list[int]]:
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(guideline))
        infos = [ImageInfo(i, f"img{i}.png", H, W) for i in range(images)]
        return ref.project_id, [int(r.id or 0) for r in add_images(session, project_id=ref.project_id, images=infos)]


def _round(engine: Engine, project_id: int, *, name: str, seed: int = 3, k: int | None = None) -> int:
    with db.session_scope(engine) as session:
        plan = dict(project_id=project_id, annotators=["ann", "bob", "cy"], seed=seed, k=k, name=name)
        return rounds.schedule_round(session, **plan).round_id


def _deliver(engine: Engine, folder: Path, round_id: int, boxes: dict[str, dict[int, list[tuple[int, int]]]]) -> None:
    """Each annotator delivers their ``boxes`` for the images they owe, then the files are ingested."""
    with db.session_scope(engine, write=False) as session:
        images = sorted({i for per in boxes.values() for i in per})
        owed = {i: assigned(session, round_id, i) for i in images}
    for name, per in boxes.items():
        mine = [i for i in images if name in owed[i]]
        if mine:
            deliver(folder, name, mine, {i: per[i] for i in mine})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=folder)


def _score(engine: Engine, round_id: int) -> list[rounds.ImageOutcome]:
    with db.session_scope(engine) as session:
        return rounds.score_images(
            session, round_id=round_id, image_ids=rounds.pending_images(session, round_id=round_id)
        )


def _ids(engine: Engine) -> dict[str, int]:
    with db.session_scope(engine, write=False) as session:
        return {p.name: p.id for p in list_people(session)}


def test_scoring_stores_observations_and_the_reliability_of_the_round_and_project(
    engine: Engine, tmp_path: Path
) -> None:
    # k = 3 on 4 images: ann and bob draw A everywhere; cy draws A on images 1-2, nothing on 3-4, and an
    # extra box on image 1. Per annotator: 4 real objects + 1 extra = 5 observations.
    project_id, ids = _project(engine, FIXED, 4)
    round_id = _round(engine, project_id, name="r1")
    cy = {i: [A] if n < 2 else [] for n, i in enumerate(ids)}
    cy[ids[0]] = [A, FAR]
    _deliver(engine, tmp_path / "d1", round_id, {"ann": {i: [A] for i in ids}, "bob": {i: [A] for i in ids}, "cy": cy})
    outcomes = _score(engine, round_id)
    assert {o.verdict for o in outcomes} == {"accepted"}  # misses and extras are feedback, not review
    people = _ids(engine)
    with db.session_scope(engine, write=False) as session:
        first = {o.image_id: o.rows for o in round_observations(session, round_ids=[round_id])}[ids[0]]
        rows = {(r["person"], r["extra"]): r for r in first}
        assert len(first) == 6  # 2 objects x 3 annotators
        assert rows[(people["cy"], True)]["drew"] and not rows[(people["ann"], True)]["drew"]
        assert rows[(people["ann"], False)]["iou_loo"] == 1.0 and rows[(people["ann"], False)]["class_ok"] is True
        stored = {(r.round_id, r.person_id): r for r in reliability_rows(session, project_id=project_id)}
    assert set(stored) == {(scope, p) for scope in (None, round_id) for p in people.values()}
    ann, cyr = stored[(round_id, people["ann"])], stored[(round_id, people["cy"])]
    assert (ann.n_objects, ann.miss_rate, ann.extra_rate, ann.class_error_rate) == (5, 0.0, 0.0, 0.0)
    assert (cyr.n_objects, cyr.miss_rate, cyr.class_error_rate) == (5, 0.5, 0.0)
    assert cyr.extra_rate == pytest.approx(1 / 3)  # 1 extra of the 3 objects cy drew
    assert ann.boundary_iou == cyr.boundary_iou == 1.0 and ann.intervals["boundary_iou"] == [1.0, 1.0]
    low, high = cyr.intervals["miss_rate"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0
    assert cyr.sensitivity < ann.sensitivity  # pooled STAPLE: cy leaves real objects out
    assert stored[(None, people["cy"])].miss_rate == 0.5  # one round: the project says the same


def _gold_round(engine: Engine, tmp_path: Path, guideline: str, images: int = 4) -> tuple[int, list[int], int]:
    """Images 1-4 with a gold box at A in round r1 (k = 3): cy draws FAR on images 1-2 (two gold failures)."""
    project_id, ids = _project(engine, guideline, images)
    gold = ids[:4]
    with db.session_scope(engine) as session:
        for image_id in gold:
            add_gold_segments(session, image_id=image_id, segments=[Segment(1, 1, rect(*A))], source="test")
        pool = ["ann", "bob", "cy"]
        round_id = rounds.schedule_round(
            session, project_id=project_id, annotators=pool, seed=3, k=3, image_ids=gold, name="r1"
        ).round_id
    cy = {i: [FAR] if n < 2 else [A] for n, i in enumerate(gold)}
    everyone = {"ann": {i: [A] for i in gold}, "bob": {i: [A] for i in gold}, "cy": cy}
    _deliver(engine, tmp_path / "d1", round_id, everyone)
    return project_id, ids, round_id


PAUSING = GUIDELINE + "gold: {pause_after_failures: 2}\n"


def test_an_annotator_who_fails_gold_twice_is_paused_named_and_gets_no_new_assignment(
    engine: Engine, tmp_path: Path
) -> None:
    project_id, ids, first = _gold_round(engine, tmp_path, PAUSING, images=12)
    rest = ids[4:]
    with db.session_scope(engine) as session:  # scheduled before anyone failed: cy has work in it
        pool = ["ann", "bob", "cy"]
        running = rounds.schedule_round(session, project_id=project_id, annotators=pool, seed=5, image_ids=rest)
    with db.session_scope(engine) as session:
        assert rounds.round_status(session, round_id=first).paused == {}
    _score(engine, first)
    with db.session_scope(engine) as session:
        assert rounds.round_status(session, round_id=first).paused == {"cy": 2}
        closed = rounds.close_round(session, round_id=first)
        assert closed.paused == {"cy": 2} and closed.to_dict()["paused"] == {"cy": 2}
        failures = {r.person_id: r.gold_failures for r in reliability_rows(session, project_id=project_id)}
        later = rounds.schedule_round(session, project_id=project_id, annotators=pool, seed=5, image_ids=rest)
    assert sorted(failures.values()) == [0, 0, 2]
    with db.session_scope(engine, write=False) as session:
        report = report_data(session, round_id=first, options=ReportOptions(resamples=10, thumbnails=0))
    assert report.data.frames["paused"].to_dict(orient="records") == [{"annotator": "cy", "gold_failures": 2}]
    assert "<b>Paused</b> (failed gold on too many images; no new assignments): cy (2 gold failures)" in render_report(
        report
    )
    assert later.paused == {"cy": 2} and later.load == {"ann": 8, "bob": 8, "cy": 0}  # nothing new for cy
    # in the round scheduled before, everyone disagrees: follow-ups go to anyone but cy, or nobody (review)
    spots = {"ann": A, "bob": FAR, "cy": (20, 40)}
    _deliver(engine, tmp_path / "d2", running.round_id, {n: {i: [xy] for i in rest} for n, xy in spots.items()})
    with db.session_scope(engine, write=False) as session:
        pairs = {i: assigned(session, running.round_id, i) for i in rest}
    outcomes = {o.image_id: o for o in _score(engine, running.round_id)}
    assert {o.followup for o in outcomes.values()} <= {"ann", "bob", None}
    for image_id, names in pairs.items():
        expected = ("review", None) if names == ["ann", "bob"] else ("escalate", ({"ann", "bob"} - set(names)).pop())
        assert (outcomes[image_id].verdict, outcomes[image_id].followup) == expected
    assert any(names == ["ann", "bob"] for names in pairs.values())


def test_without_the_setting_nobody_is_paused(engine: Engine, tmp_path: Path) -> None:
    project_id, _, first = _gold_round(engine, tmp_path, GUIDELINE)
    _score(engine, first)
    with db.session_scope(engine) as session:
        assert rounds.round_status(session, round_id=first).paused == {}
        result = rounds.schedule_round(
            session, project_id=project_id, annotators=["ann", "bob", "cy"], seed=5, name="r2"
        )
    assert result.paused == {} and result.load["cy"] > 0


def _measured(engine: Engine, project_id: int, boundary: dict[str, float]) -> None:
    """Store project-wide reliability: ``boundary`` IoU per annotator, weights as :mod:`qc.reliability` gives them."""
    people = _ids(engine)
    median = sorted(1 - b for b in boundary.values())[len(boundary) // 2]
    rows = [
        {"person_id": people[n], "n_objects": 100, "boundary_iou": b, "weight": min(20.0, (median / (1 - b)) ** 2)}
        for n, b in boundary.items()
    ]
    with db.session_scope(engine) as session:
        replace_reliability(session, project_id=project_id, round_id=None, rows=rows)


def test_first_pass_pairs_never_put_two_less_reliable_annotators_together_and_are_seeded(engine: Engine) -> None:
    project_id, ids = _project(engine, GUIDELINE, 40)
    with db.session_scope(engine) as session:
        rounds.ensure_annotators(session, names=["ann", "bob", "cy", "dee"])
    _measured(engine, project_id, {"ann": 0.95, "bob": 0.95, "cy": 0.7, "dee": 0.7})
    plans = []
    for name in ("r1", "r2", "r3"):
        seed = 11 if name != "r3" else 12
        with db.session_scope(engine) as session:
            pool = ["ann", "bob", "cy", "dee"]
            result = rounds.schedule_round(session, project_id=project_id, annotators=pool, seed=seed, name=name)
            plans.append({i: tuple(assigned(session, result.round_id, i)) for i in ids})
    assert plans[0] == plans[1]  # the same seed, the same pairs
    assert plans[0] != plans[2]
    pairs = list(plans[0].values())
    assert ("cy", "dee") not in pairs  # a less reliable annotator is always paired with a reliable one
    load = {n: sum(n in p for p in pairs) for n in ("ann", "bob", "cy", "dee")}
    assert load["cy"] + load["dee"] < load["ann"] + load["bob"]


def test_two_agreeing_annotators_settle_an_image_only_when_reliable_enough(engine: Engine, tmp_path: Path) -> None:
    project_id, ids = _project(engine, GUIDELINE, 12)
    round_id = _round(engine, project_id, name="r1")
    _measured(engine, project_id, {"ann": 0.95, "bob": 0.95, "cy": 0.7})
    # ann and bob draw A (IoU 1 together), cy draws B: IoU 0.846 with either, agreeing (>= accept_iou 0.8)
    boxes = {"ann": {i: [A] for i in ids}, "bob": {i: [A] for i in ids}, "cy": {i: [B] for i in ids}}
    _deliver(engine, tmp_path / "d1", round_id, boxes)
    outcomes = {o.image_id: o for o in _score(engine, round_id)}
    with db.session_scope(engine, write=False) as session:
        pairs = {i: assigned(session, round_id, i) for i in ids}
        summaries = {r.image_id: r.summary or {} for r in list_image_results(session, round_id=round_id)}
    with_cy = {i for i, names in pairs.items() if "cy" in names}
    assert with_cy and with_cy != set(ids)
    for image_id in ids:
        if image_id in with_cy:  # the pair is less reliable than the round's typical pair: one more label
            assert outcomes[image_id].verdict == "escalate" and outcomes[image_id].followup is not None
            assert summaries[image_id]["unsettled"] is True and summaries[image_id]["findings"] == {}
        else:
            assert outcomes[image_id].verdict == "accepted" and "unsettled" not in summaries[image_id]


def test_reliability_of_unscored_rounds_is_nothing(engine: Engine) -> None:
    project_id, _ = _project(engine, GUIDELINE, 2)
    round_id = _round(engine, project_id, name="r1")
    with db.session_scope(engine) as session:
        update = rounds.update_reliability(session, round_id=round_id)
        assert (update.round_annotators, update.project_annotators, update.observations) == (0, 0, 0)
        assert reliability_rows(session, project_id=project_id) == []


@pytest.mark.parametrize(
    ("method", "verdict"), [("majority", "review"), ("auto", "accepted"), ("weighted", "accepted")]
)
def test_a_shape_dispute_at_k_max_is_decided_by_measured_reliability_only_under_weighted_consensus(
    engine: Engine, tmp_path: Path, method: str, verdict: str
) -> None:
    guideline = FIXED + f"consensus: {{method: {method}}}\n"
    project_id, ids = _project(engine, guideline, 2)
    round_id = _round(engine, project_id, name="r1")
    _measured(engine, project_id, {"ann": 0.95, "bob": 0.95, "cy": 0.7})  # cy weighs (0.05 / 0.3)² = 0.028
    # bob misses the object; cy's box is 3 px off ann's (IoU 108/180 = 0.6: matched, not agreeing)
    boxes = {"ann": {i: [A] for i in ids}, "bob": {i: [] for i in ids}, "cy": {i: [(8, 5)] for i in ids}}
    _deliver(engine, tmp_path / "d1", round_id, boxes)
    outcomes = _score(engine, round_id)
    assert [o.verdict for o in outcomes] == [verdict] * 2
    with db.session_scope(engine, write=False) as session:
        consensus = {i: consensus_segments(session, round_id=round_id, image_id=i) for i in ids}
    for outcome in outcomes:
        if verdict == "accepted":  # ann's box; bob missed it, cy's shape is feedback
            assert outcome.findings == {"missed": 1, "outlier_shape": 1}
            (segment,) = consensus[outcome.image_id]
            assert segment.rle == rect(*A)
        else:
            assert outcome.findings == {"unsupported": 1} and consensus[outcome.image_id] == []


@pytest.mark.parametrize("method", ["auto", "majority"])
def test_close_fuses_the_accepted_images_again_with_the_rounds_final_reliability(
    engine: Engine, tmp_path: Path, method: str
) -> None:
    project_id, ids = _project(engine, FIXED + f"consensus: {{method: {method}}}\n", 4)
    round_id = _round(engine, project_id, name="r1")
    # ann draws A every time; bob is 1 px off sideways, cy 1 px off upwards or downwards: ann agrees with
    # both (IoU 0.846), bob and cy not with each other (0.72): supporters ann and bob, cy an outlier
    side = {i: [(6, 5) if i % 2 else (4, 5)] for i in ids}
    up = {i: [(5, 6) if i % 2 else (5, 4)] for i in ids}
    _deliver(engine, tmp_path / "d1", round_id, {"ann": {i: [A] for i in ids}, "bob": side, "cy": up})
    assert {o.verdict for o in _score(engine, round_id)} == {"accepted"}  # scored before anything was measured
    with db.session_scope(engine, write=False) as session:
        before = {i: consensus_segments(session, round_id=round_id, image_id=i)[0].rle for i in ids}
    assert all(rle != rect(*A) for rle in before.values())  # ann and bob weigh alike: their shape average
    with db.session_scope(engine) as session:
        closed = rounds.close_round(session, round_id=round_id)
        weights = {
            r.person_id: r.weight for r in reliability_rows(session, project_id=project_id) if r.round_id is None
        }
        after = {i: consensus_segments(session, round_id=round_id, image_id=i)[0].rle for i in ids}
        results = {r.image_id: r for r in list_image_results(session, round_id=round_id)}
    people = _ids(engine)
    assert weights[people["ann"]] >= 1.5 * weights[people["bob"]]  # measured: ann's boundary is clearly better
    if method == "auto":  # ann's own shape now
        assert closed.fused_again == tuple(ids) and closed.to_dict()["fused_again"] == list(ids)
        assert all(rle == rect(*A) for rle in after.values())
    else:  # the majority's consensus does not depend on reliability
        assert closed.fused_again == () and after == before
    assert {r.verdict for r in results.values()} == {"accepted"}
    with db.session_scope(engine) as session:  # closing again changes nothing more
        assert rounds.fuse_accepted_again(session, round_id=round_id) == []
