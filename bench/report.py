"""Report benchmark (issue: agreement and compliance reports).

Run: ``.venv/bin/python -m bench.report [--images 10000]``.

Synthetic rows for N images x 3 annotators (images 256x256, 4 segments per submission) are bulk
inserted straight into a fresh SQLite database (no scoring): assignments, submissions, segments,
image results, scores (group, pair, annotator, image), flags, consensus segments and a few review
decisions. Then the full report (1000 bootstrap resamples, thumbnails for the worst 50, STAPLE
on 200 images) is built and rendered. Printed: seconds to insert, to build the data, to render,
and the HTML size; the target is under 30 s for 10,000 images.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from qc import masks
from qc.guideline import load_guideline
from qc.rounds import init_project
from qc.store import db
from qc.store import models as m
from reports.build import ReportOptions, render_report, report_data

SIZE = 256
SEGMENTS = 4
GROUP_METRICS = ("min_iou", "mean_iou", "min_boundary_iou", "mean_boundary_iou")
FLAG = {"kind": "guideline", "level": "image", "category_id": 1, "severity": 1.0, "message": "ana: min_area: too small"}
FLAG_BOX = {"bbox_x": 10, "bbox_y": 10, "bbox_w": 40, "bbox_h": 40}
RESULT = {"labels_spent": 3, "input_hash": "x", "summary": None}
CONSENSUS = {"category_id": 1, "height": SIZE, "width": SIZE, "rle_counts": "", "area": 1600, "method": "majority"}
CONSENSUS_BOX = {"bbox_x": 0, "bbox_y": 0, "bbox_w": 40, "bbox_h": 40}


def _rect(x: int, y: int, w: int, h: int) -> tuple[str, int, list[int]]:
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return masks.encode(mask)["counts"], int(mask.sum()), [x, y, w, h]


def _insert(session: Any, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 20000):
        session.execute(insert(model.__table__), rows[start : start + 20000])


def _all(session: Any, model: type[Any]) -> list[Any]:
    return session.execute(model.__table__.select()).all()


def populate(url: str, images: int, *, seed: int = 1) -> int:
    """Fill a fresh database with one round of ``images`` synthetic images; returns the round id."""
    rng = np.random.default_rng(seed)
    engine = db.make_engine(url)
    db.upgrade(engine)
    now = m.utcnow()
    with db.session_scope(engine) as session:
        ref = init_project(session, guideline=load_guideline("examples/guideline.yaml"), name="bench")
        people = [m.Person(name=n, roles=["annotator"]) for n in ("ana", "ben", "cai", "dee", "eve")]
        reviewer = m.Person(name="rita", roles=["reviewer"])
        session.add_all([*people, reviewer])
        round_row = m.Round(project_id=ref.project_id, name="bench-1", guideline_version_id=ref.guideline_version_id)
        session.add(round_row)
        session.flush()
        rid, pids = int(round_row.id or 0), [int(p.id or 0) for p in people]
        image = {"project_id": ref.project_id, "width": SIZE, "height": SIZE}
        _insert(session, m.Image, [{**image, "file_name": f"im{i:05d}.png"} for i in range(images)])
        first = _all(session, m.Image)[0][0]
        team = {i: [pids[j] for j in rng.choice(len(pids), 3, replace=False)] for i in range(images)}
        assignment = {"round_id": rid, "kind": "consensus", "created_at": now}
        pairs = [(first + i, a) for i in range(images) for a in team[i]]
        _insert(session, m.Assignment, [{**assignment, "image_id": i, "annotator_id": a} for i, a in pairs])
        _submissions(session, rng, now)
        _results(session, rid, first, images, team, rng, now)
        _reviews(session, rid, first, int(reviewer.id or 0), now)
    return rid


def _submissions(session: Any, rng: Any, now: Any) -> None:
    submission = {"version": 1, "source_path": "bench.json", "format": "coco", "segment_count": SEGMENTS}
    rows = [
        {**submission, "assignment_id": a.id, "content_hash": f"{a.id:064x}", "created_at": now}
        for a in _all(session, m.Assignment)
    ]
    _insert(session, m.Submission, rows)
    rects = [_rect(int(x), int(y), 40, 40) for x, y in rng.integers(0, SIZE - 44, size=(64, 2))]
    _insert(
        session, m.Segment, [_segment(s.id, k, rects) for s in _all(session, m.Submission) for k in range(SEGMENTS)]
    )


def _segment(submission_id: int, k: int, rects: list[tuple[str, int, list[int]]]) -> dict[str, Any]:
    counts, area, (x, y, w, h) = rects[(submission_id * 7 + k * 13) % len(rects)]
    row = {"submission_id": submission_id, "source_id": str(k), "instance_id": k + 1, "category_id": 1 + k % 4}
    row |= {"iscrowd": False, "height": SIZE, "width": SIZE, "rle_counts": counts, "area": area}
    return row | {"bbox_x": x, "bbox_y": y, "bbox_w": w, "bbox_h": h}


def _image_scores(where: dict[str, Any], members: list[int], rng: Any) -> list[dict[str, Any]]:
    """Group, pair, annotator and image scores of one image (the draws in the order of the original rows)."""
    base = {**where, "detail": None}
    rows = []
    for g in range(4):
        for metric in GROUP_METRICS:
            value = float(rng.beta(8, 2))
            rows.append(
                {**base, "kind": "group", "annotators": members, "category_id": 1 + g, "metric": metric, "value": value}
            )
    for a, b in ((0, 1), (0, 2), (1, 2)):
        for metric in ("pq", "sq", "rq"):
            pair = {"kind": "pair", "annotators": [members[a], members[b]], "category_id": None, "metric": metric}
            rows.append({**base, **pair, "value": float(rng.beta(8, 2)), "detail": {"tp": 4, "fp": 0, "fn": 0}})
    for a in members:
        loo = {"kind": "annotator", "annotators": [a], "category_id": None, "metric": "loo_iou"}
        rows.append({**base, **loo, "value": float(rng.beta(8, 2))})
    mean = {"kind": "image", "annotators": members, "category_id": None, "metric": "mean_group_iou"}
    rows.append({**base, **mean, "value": float(rng.beta(8, 2))})
    return rows


def _results(session: Any, rid: int, first: int, images: int, team: dict[int, list[int]], rng: Any, now: Any) -> None:
    verdicts = rng.choice(["accepted", "review", "escalate"], size=images, p=[0.7, 0.2, 0.1])
    scores, flags, results, consensus = [], [], [], []
    for i in range(images):
        where = {"round_id": rid, "image_id": first + i, "created_at": now}
        scores += _image_scores(where, team[i], rng)
        for _ in range(int(rng.integers(0, 4))):
            flags.append({**where, **FLAG, **FLAG_BOX, "annotators": [team[i][0]]})
        results.append({"round_id": rid, "image_id": first + i, **RESULT, "verdict": verdicts[i], "scored_at": now})
        consensus.append({**where, **CONSENSUS, **CONSENSUS_BOX})
    for model, rows in ((m.Score, scores), (m.Flag, flags), (m.ImageResult, results), (m.ConsensusSegment, consensus)):
        _insert(session, model, rows)


def _reviews(session: Any, rid: int, first: int, reviewer: int, now: Any) -> None:
    item = {"round_id": rid, "status": "decided", "version": 2, "created_at": now, "updated_at": now}
    _insert(session, m.ReviewItem, [{**item, "image_id": first + i} for i in range(100)])
    decisions = [
        {
            "review_item_id": r.id,
            "reviewer_id": reviewer,
            "kind": ("accept_consensus", "rework")[r.id % 2],
            "note": "see the left edge",
            "created_at": now + timedelta(hours=int(r.id % 7)),
        }
        for r in _all(session, m.ReviewItem)
    ]
    _insert(session, m.Decision, decisions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        start = time.perf_counter()
        rid = populate(url, args.images)
        inserted = time.perf_counter()
        with db.session_scope(db.make_engine(url), write=False) as session:
            report = report_data(session, round_id=rid, options=ReportOptions())
        built = time.perf_counter()
        html = render_report(report)
        done = time.perf_counter()
    total = done - inserted
    verdict = "ok" if total < 30 else "TOO SLOW"
    print(f"inserted {args.images} images of rows in {inserted - start:.1f} s")
    print(
        f"report data {built - inserted:.1f} s, render {done - built:.1f} s: {total:.1f} s in all "
        f"({len(html) / 1e6:.1f} MB HTML, {len(report.thumbnails)} thumbnails); target < 30 s: {verdict}"
    )


if __name__ == "__main__":
    main()
