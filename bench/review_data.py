"""A review queue to serve: a hand-made round with review items, and the review app on a loopback port.

:func:`build_round` builds the round with bulk inserts (cheap enough for 500 items). Each image
gets ``annotators`` submissions of ``instances`` rectangles each (jittered per annotator so they
disagree a little), a consensus (the first annotator's rectangles), an ``image_result`` with
verdict ``review``, two flags with boxes, and a review item. People: annotators ``ann1..``,
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
from pathlib import Path

import numpy as np
import uvicorn
from fastapi import FastAPI
from PIL import Image as PILImage
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import masks
from qc.review import hash_token
from qc.store import models as m
from qc.store.api import add_person, create_project, create_round
from qc.store.db import session_scope
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
) -> Built:
    with session_scope(engine) as session:
        project = create_project(session, name="review-test", task_type="instance")
        assert project.id is not None
        session.add(m.LabelClass(project_id=project.id, class_id=1, name="car <b>", kind="thing"))
        people = {}
        names = [f"ann{i}" for i in range(1, annotators + 1)]
        for name in names:
            people[name] = add_person(
                session, name=name, roles=["annotator"], token_hash=hash_token(f"token-{name}")
            ).id
        for i in range(1, reviewers + 1):
            people[f"rev{i}"] = add_person(
                session, name=f"rev{i}", roles=["reviewer"], token_hash=hash_token(f"token-rev{i}")
            ).id
        people["lead"] = add_person(session, name="lead", roles=["lead"], token_hash=hash_token("token-lead")).id
        people["manager"] = add_person(
            session, name="manager", roles=["manager"], token_hash=hash_token("token-manager")
        ).id
        round_row = create_round(session, project_id=project.id, k=annotators, name="r1")
        round_id = int(round_row.id or 0)
        now = m.utcnow()
        rows = []
        for i in range(images):
            file_name = f"img{i:04d}.png"
            path = None
            if image_root is not None:
                PILImage.new("RGB", (width, height), (90, 110, 130)).save(image_root / file_name)
                path = str(image_root / file_name)
            rows.append({"project_id": project.id, "file_name": file_name, "width": width, "height": height,
                         "path": path})  # fmt: skip
        session.execute(insert(m.Image), rows)
        image_ids = list(
            session.scalars(select(m.Image.id).where(m.Image.project_id == project.id).order_by(m.Image.id))
        )
        session.execute(
            insert(m.Assignment),
            [{"round_id": round_id, "image_id": i, "annotator_id": people[a], "created_at": now, "kind": "consensus"}
             for i in image_ids for a in names],
        )  # fmt: skip
        assignments = dict(
            ((i, a), s)
            for s, i, a in session.execute(
                select(m.Assignment.id, m.Assignment.image_id, m.Assignment.annotator_id).where(
                    m.Assignment.round_id == round_id
                )
            )
        )
        session.execute(
            insert(m.Submission),
            [{"assignment_id": s, "version": 1, "content_hash": f"h{s}", "source_path": "x.json", "format": "coco",
              "segment_count": instances, "created_at": now} for s in assignments.values()],
        )  # fmt: skip
        by_assignment = dict(session.execute(select(m.Submission.assignment_id, m.Submission.id)).all())
        built = Built(round_id, image_ids, people)
        segments, consensus, results, flags = [], [], [], []
        for image_id in image_ids:
            base = rectangles(instances, height, width, seed=image_id)
            for number, name in enumerate(names):
                sub = by_assignment[assignments[(image_id, people[name])]]
                built.submissions[(image_id, people[name])] = sub
                for k, (x0, y0, x1, y1) in enumerate(base, start=1):
                    grid = np.zeros((height, width), dtype=bool)
                    grid[y0 : y1 + number, x0 : x1 + number] = True
                    rle = masks.encode(grid)
                    x, y, w, h = masks.bbox(rle)
                    row = {"category_id": 1, "height": height, "width": width, "rle_counts": rle["counts"],
                           "area": masks.area(rle), "bbox_x": x, "bbox_y": y, "bbox_w": w, "bbox_h": h}  # fmt: skip
                    segments.append({**row, "submission_id": sub, "source_id": str(k), "instance_id": k})
                    if number == 0:
                        consensus.append({**row, "round_id": round_id, "image_id": image_id, "method": "majority",
                                          "created_at": now})  # fmt: skip
            results.append({"round_id": round_id, "image_id": image_id, "verdict": "review",
                            "labels_spent": annotators, "input_hash": f"in{image_id}",
                            "summary": {"annotators": names}, "scored_at": now})  # fmt: skip
            x0, y0, x1, y1 = base[0]
            flags.append({"round_id": round_id, "image_id": image_id, "kind": "boundary_disagreement", "level": "image",
                          "category_id": 1, "bbox_x": x0, "bbox_y": y0, "bbox_w": x1 - x0, "bbox_h": y1 - y0,
                          "annotators": [people[names[-1]]], "severity": 0.5,
                          "message": "edges differ <script>alert(1)</script>", "created_at": now})  # fmt: skip
            flags.append({"round_id": round_id, "image_id": image_id, "kind": "missing_instance", "level": "annotator",
                          "category_id": None, "bbox_x": 1, "bbox_y": 1, "bbox_w": 5, "bbox_h": 5,
                          "annotators": [people[names[0]]], "severity": 0.2, "message": "one missed",
                          "created_at": now})  # fmt: skip
        session.execute(insert(m.Segment), segments)
        session.execute(insert(m.ConsensusSegment), consensus)
        session.execute(insert(m.ImageResult), results)
        session.execute(insert(m.Flag), flags)
        add_review_items(session, round_id=round_id, image_ids=image_ids)
    return built


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The base URL of ``app`` served on loopback until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
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
