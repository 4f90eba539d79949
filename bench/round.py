"""Round benchmark (issue: consensus rounds). Run: ``.venv/bin/python bench/round.py [--images 1000]``.

1,000 images of 1024x768 x 3 annotators x 20 instances (perturbed polygons, seeded) are
ingested as COCO files into a fresh SQLite database, then scored by the ``score_round``
flow (batches of 50, 2 worker processes). Printed:

- images per second of ``score_round`` (steady state: the local Prefect server is started
  by a warm-up flow first, and that one-off start-up is printed apart);
- Prefect's share: the same batches scored on a copy of the database by the same process
  pool without Prefect, compared with the flow's wall time;
- peak memory (max RSS) of this process and of the worker processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

GUIDELINE = """
version: "bench-1"
name: bench
task: instance
classes:
  - {id: 1, name: a, kind: thing, colour: "#ff0000", min_area: 20, max_parts: 3}
  - {id: 2, name: b, kind: thing, colour: "#00ff00", min_area: 20, max_parts: 3}
  - {id: 3, name: c, kind: thing, colour: "#0000ff", min_area: 20, max_parts: 3}
thresholds: {accept_iou: 0.8, accept_boundary_iou: 0.6, overlap_allowance: 0.5}
routing: {k: 3}
"""
ANNOTATORS = ["annotator1", "annotator2", "annotator3"]


def prepare(folder: Path, count: int) -> tuple[str, int, float]:
    """Database with a scheduled, fully delivered round; returns (url, round id, ingest seconds)."""
    from _workload import make_images

    from qc import rounds
    from qc.formats import coco
    from qc.formats._base import Category, ImageInfo
    from qc.guideline import parse_guideline
    from qc.match import Segment
    from qc.store import db
    from qc.store.api import add_images

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    images = make_images(count)
    infos = [ImageInfo(i + 1, f"img{i:05d}.png", im.height, im.width) for i, im in enumerate(images)]
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        add_images(session, project_id=ref.project_id, images=infos)
        round_id = rounds.schedule_round(session, project_id=ref.project_id, annotators=ANNOTATORS, seed=1).round_id
    delivery = folder / "delivery"
    delivery.mkdir()
    categories = [Category(c, str(c)) for c in (1, 2, 3)]
    for name in ANNOTATORS:
        segments = [
            (info.id, Segment(info.id * 100 + j, s.category_id, s.rle))
            for info, image in zip(infos, images, strict=True)
            for j, s in enumerate(image.annotators[name])
        ]
        coco.write_instances(delivery / f"{name}.json", infos, segments, categories)
    start = time.perf_counter()
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=delivery)
    engine.dispose()
    return url, round_id, time.perf_counter() - start


def plain_pool(url: str, round_id: int, workers: int, batch: int) -> float:
    """The same scoring without Prefect: pending images in batches on a spawned process pool."""
    from qc import rounds
    from qc.store import db

    start = time.perf_counter()
    engine = db.make_engine(url)
    with db.session_scope(engine, write=False) as session:
        pending = rounds.pending_images(session, round_id=round_id)
    batches = [pending[i : i + batch] for i in range(0, len(pending), batch)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_score, [(url, round_id, b) for b in batches]))
    elapsed = time.perf_counter() - start
    if sum(done) != len(pending):
        raise SystemExit(f"plain run scored {sum(done)} of {len(pending)} images")
    return elapsed


def _score(args: tuple[str, int, list[int]]) -> int:
    from qc.rounds import score_batch

    url, round_id, image_ids = args
    return len(score_batch(url, round_id=round_id, image_ids=image_ids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qc-bench-round-"))
    for key, value in {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_HOME": str(folder / "prefect"),
    }.items():
        os.environ.setdefault(key, value)
    start = time.perf_counter()
    _, round_id, ingest_s = prepare(folder, args.images)
    print(
        f"prepared {args.images} images x 3 annotators x 20 instances in {time.perf_counter() - start:.1f} s "
        f"(ingest {ingest_s:.1f} s)"
    )
    for n in range(args.repeats):
        shutil.copy(folder / "bench.db", folder / f"prefect{n}.db")
        shutil.copy(folder / "bench.db", folder / f"plain{n}.db")

    from prefect import flow

    from flows.round import score_round

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    start = time.perf_counter()
    warm_up()
    startup = time.perf_counter() - start
    prefect_times, plain_times = [], []
    for n in range(args.repeats):  # interleaved, so that drift of this shared machine hits both alike
        start = time.perf_counter()
        outcomes = score_round(
            f"sqlite:///{folder / f'prefect{n}.db'}", round_id, batch_size=args.batch, workers=args.workers
        )
        prefect_times.append(time.perf_counter() - start)
        plain_times.append(plain_pool(f"sqlite:///{folder / f'plain{n}.db'}", round_id, args.workers, args.batch))
    with_prefect, without = min(prefect_times), min(plain_times)
    verdicts: dict[str, int] = {}
    for outcome in outcomes:
        verdicts[outcome["verdict"]] = verdicts.get(outcome["verdict"], 0) + 1
    share = max(0.0, with_prefect - without) / with_prefect
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"Prefect local server start-up (one-off): {startup:.1f} s")
    print(f"runs, s: with Prefect {[round(t, 1) for t in prefect_times]}, without {[round(t, 1) for t in plain_times]}")
    print(
        f"score_round (best run): {len(outcomes)} images in {with_prefect:.1f} s = "
        f"{len(outcomes) / with_prefect:.1f} images/s "
        f"({args.workers} processes, batches of {args.batch}); target >= 50 images/s"
    )
    print(
        f"same batches without Prefect (best run): {without:.1f} s = {len(outcomes) / without:.1f} images/s; "
        f"Prefect's share {share:.1%} (target < 10%)"
    )
    print(f"verdicts: {verdicts}")
    print(f"peak memory: this process {own:.0f} MB, largest worker {children:.0f} MB (target < 1 GB)")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
