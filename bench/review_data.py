"""A review queue to serve: a hand-made round with review items, and the review app on a loopback port.

:func:`build_round` builds the round with bulk inserts (cheap enough for 500 items). Each image
gets ``annotators`` submissions of ``instances`` rectangles each (jittered per annotator so they
disagree a little), a consensus (the first annotator's rectangles), an ``image_result`` with
verdict ``review``, two flags with boxes, and a review item; with ``disputes`` its first rectangles
are disputes (each annotator's version, the first one's fused). People: annotators ``ann1..``,
reviewers ``rev1..``, ``lead``, ``manager``; each gets a login token ``token-<name>``.

:func:`running` serves an app with uvicorn in a thread on a free loopback port (the browser
tests and the review benchmarks).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI
from PIL import Image as PILImage
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from qc import masks
from qc.metrics import mask_iou
from qc.review import hash_token
from qc.store import models as m
from qc.store.api import add_person, create_project, create_round
from qc.store.db import session_scope
from qc.store.disputes import replace_disputes
from qc.store.results import add_review_items


@dataclass
class Built:
    round_id: int
    image_ids: list[int]
    people: dict[str, int] = field(default_factory=dict)
    submissions: dict[tuple[int, int], int] = field(default_factory=dict)  # (image, annotator) -> submission


def rectangles(n: int, height: int, width: int, *, seed: int) -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(seed)
    size = max(4, int(min(height, width) / max(2, np.sqrt(n) * 1.6)))
    out = []
    for _ in range(n):
        x0 = int(rng.integers(0, max(1, width - size)))
        y0 = int(rng.integers(0, max(1, height - size)))
        out.append((x0, y0, min(width, x0 + size), min(height, y0 + size)))
    return out


def build_round(
    engine: Engine,
    *,
    images: int = 3,
    height: int = 48,
    width: int = 64,
    annotators: int = 3,
    instances: int = 2,
    reviewers: int = 2,
    image_root: Path | None = None,
    disputes: int = 0,
) -> Built:
    with session_scope(engine) as session:
        project = create_project(session, name="review-test", task_type="instance")
        project_id = int(project.id or 0)
        session.add(m.LabelClass(project_id=project_id, class_id=1, name="car <b>", kind="thing"))
        names = [f"ann{i}" for i in range(1, annotators + 1)]
        people = _add_people(session, names, reviewers=reviewers)
        round_id = int(create_round(session, project_id=project_id, k=annotators, name="r1").id or 0)
        image_ids = _add_images(session, project_id, images, height=height, width=width, image_root=image_root)
        built = Built(round_id, image_ids, people)
        built.submissions = _add_submissions(session, round_id, image_ids, [people[a] for a in names], instances)
        now = m.utcnow()
        segments, consensus, results, flags = [], [], [], []
        for image_id in image_ids:
            base = rectangles(instances, height, width, seed=image_id)
            for number, name in enumerate(names):
                sub = built.submissions[(image_id, people[name])]
                for k, row in enumerate(_rectangle_rows(base, height, width, grow=number), start=1):
                    segments.append({**row, "submission_id": sub, "source_id": str(k), "instance_id": k})
                    if number == 0:
                        where = {"round_id": round_id, "image_id": image_id}
                        consensus.append({**row, **where, "method": "majority", "created_at": now})
            results.append(_result_row(round_id, image_id, names, now))
            flags.extend(_flag_rows(round_id, image_id, base[0], (people[names[0]], people[names[-1]]), now))
        for model, rows in ((m.Segment, segments), (m.ConsensusSegment, consensus), (m.ImageResult, results)):
            session.execute(insert(model), rows)
        session.execute(insert(m.Flag), flags)
        add_review_items(session, round_id=round_id, image_ids=image_ids)
        if disputes:
            _add_disputes(session, built, [people[a] for a in names], min(disputes, instances))
    return built


def _add_disputes(session: Session, built: Built, annotators: list[int], count: int) -> None:
    """The first ``count`` rectangles of each image are disputed: every annotator's version, the first one's as the
    fused candidate; every third is missed by the last annotator; kinds cycle unsupported, class conflict, guideline.
    """
    kinds = ("unsupported", "class_conflict", "guideline")
    items = dict(session.execute(select(m.ReviewItem.image_id, m.ReviewItem.id)).all())
    for image_id in built.image_ids:
        subs = [built.submissions[(image_id, a)] for a in annotators]
        query = select(m.Segment).where(col(m.Segment.submission_id).in_(subs))
        segments = {(s.submission_id, s.source_id): s for s in session.scalars(query)}
        rows = []
        for k in range(1, count + 1):
            drawn = [(a, segments[(sub, str(k))]) for a, sub in zip(annotators, subs, strict=True)]
            if k % 3 == 0:
                drawn[-1] = (drawn[-1][0], None)  # the last annotator did not draw it
            rles = {a: {"size": [s.height, s.width], "counts": s.rle_counts} for a, s in drawn if s is not None}
            fused = drawn[0][1]
            assert fused is not None
            versions = [
                {"person_id": a, "submission_id": sub, "segment_id": None if s is None else s.id, "category_id": 1}
                | {"iou_to_fused": None if s is None else mask_iou(rles[a], rles[annotators[0]])}
                for (a, s), sub in zip(drawn, subs, strict=True)
            ]
            pairs = [[a, b, mask_iou(rles[a], rles[b])] for i, a in enumerate(rles) for b in list(rles)[i + 1 :]]
            x, y, w, h = masks.bbox(rles[annotators[0]])
            rows.append(
                {"number": k, "kind": kinds[k % 3], "reason": f"no majority agrees on object {k}", "category_id": 1}
                | {"bbox_x": x, "bbox_y": y, "bbox_w": w + len(annotators), "bbox_h": h + len(annotators)}
                | {"height": fused.height, "width": fused.width, "fused_counts": fused.rle_counts}
                | {"versions": versions, "pairwise": pairs}
            )
        replace_disputes(session, item_id=int(items[image_id]), rows=rows)


def _add_people(session: Session, annotators: list[str], *, reviewers: int) -> dict[str, int]:
    """Annotators, reviewers ``rev1..``, ``lead`` and ``manager``, each with the login token ``token-<name>``."""
    roles = {name: "annotator" for name in annotators}
    roles.update({f"rev{i}": "reviewer" for i in range(1, reviewers + 1)})
    roles.update({"lead": "lead", "manager": "manager"})
    return {
        name: int(add_person(session, name=name, roles=[role], token_hash=hash_token(f"token-{name}")).id or 0)
        for name, role in roles.items()
    }


def _add_images(
    session: Session, project_id: int, count: int, *, height: int, width: int, image_root: Path | None
) -> list[int]:
    rows = []
    for i in range(count):
        file_name = f"img{i:04d}.png"
        path = None
        if image_root is not None:
            PILImage.new("RGB", (width, height), (90, 110, 130)).save(image_root / file_name)
            path = str(image_root / file_name)
        rows.append({"project_id": project_id, "file_name": file_name, "width": width, "height": height, "path": path})
    session.execute(insert(m.Image), rows)
    query = select(m.Image.id).where(m.Image.project_id == project_id).order_by(col(m.Image.id))
    return [int(i) for i in session.scalars(query)]


def _add_submissions(
    session: Session, round_id: int, image_ids: list[int], annotators: list[int], instances: int
) -> dict[tuple[int, int], int]:
    """One assignment and one submission per (image, annotator): ``(image, annotator) -> submission id``."""
    now = m.utcnow()
    rows = [
        {"round_id": round_id, "image_id": i, "annotator_id": a, "created_at": now, "kind": "consensus"}
        for i in image_ids
        for a in annotators
    ]
    session.execute(insert(m.Assignment), rows)
    query = select(m.Assignment.id, m.Assignment.image_id, m.Assignment.annotator_id)
    assignments = {(i, a): s for s, i, a in session.execute(query.where(m.Assignment.round_id == round_id))}
    submission = {"version": 1, "source_path": "x.json", "format": "coco", "segment_count": instances}
    rows = [
        {**submission, "assignment_id": s, "content_hash": f"h{s}", "created_at": now} for s in assignments.values()
    ]
    session.execute(insert(m.Submission), rows)
    by_assignment = dict(session.execute(select(m.Submission.assignment_id, m.Submission.id)).all())
    return {key: int(by_assignment[s]) for key, s in assignments.items()}


def _rectangle_rows(
    base: list[tuple[int, int, int, int]], height: int, width: int, *, grow: int
) -> list[dict[str, Any]]:
    """The RLE columns of each rectangle grown by ``grow`` pixels to the right and down."""
    rows = []
    for x0, y0, x1, y1 in base:
        grid = np.zeros((height, width), dtype=bool)
        grid[y0 : y1 + grow, x0 : x1 + grow] = True
        rle = masks.encode(grid)
        x, y, w, h = masks.bbox(rle)
        mask = {"height": height, "width": width, "rle_counts": rle["counts"], "area": masks.area(rle)}
        rows.append({"category_id": 1, **mask, "bbox_x": x, "bbox_y": y, "bbox_w": w, "bbox_h": h})
    return rows


def _result_row(round_id: int, image_id: int, names: list[str], now: datetime) -> dict[str, Any]:
    return {
        "round_id": round_id,
        "image_id": image_id,
        "verdict": "review",
        "labels_spent": len(names),
        "input_hash": f"in{image_id}",
        "summary": {"annotators": names},
        "scored_at": now,
    }


def _flag_rows(
    round_id: int, image_id: int, first: tuple[int, int, int, int], people: tuple[int, int], now: datetime
) -> list[dict[str, Any]]:
    """A boundary disagreement on the first rectangle (by the last annotator) and a missed instance (the first)."""
    x0, y0, x1, y1 = first
    boundary: dict[str, Any] = {"kind": "boundary_disagreement", "level": "image", "category_id": 1}
    boundary.update(bbox_x=x0, bbox_y=y0, bbox_w=x1 - x0, bbox_h=y1 - y0, annotators=[people[1]], severity=0.5)
    boundary["message"] = "edges differ <script>alert(1)</script>"
    missed: dict[str, Any] = {"kind": "missing_instance", "level": "annotator", "category_id": None}
    missed.update(bbox_x=1, bbox_y=1, bbox_w=5, bbox_h=5, annotators=[people[0]], severity=0.2, message="one missed")
    where = {"round_id": round_id, "image_id": image_id, "created_at": now}
    return [{**where, **boundary}, {**where, **missed}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The base URL of ``app`` served on loopback until the block ends."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review app did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
