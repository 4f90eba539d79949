"""Ingest benchmark: 1,000 images x 3 annotators x 20 instances into a fresh SQLite file.

Generates seeded, perturbed polygons as three COCO files (one per annotator) in a temporary
folder, reads them with ``qc.formats.coco.read_instances`` and ingests them with
``qc.store.ingest_file`` (one transaction per file). Prints the seconds per phase and the
peak memory (``resource`` max RSS; ``--tracemalloc`` also traces Python allocations, which
slows everything down). Targets: read + ingest under 30 s, peak under 500 MB.

    .venv/bin/python -m bench.ingest [--images 1000] [--annotators 3] [--instances 20] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qc.core import ImageInfo
from qc.formats._base import ParsedAnnotations
from qc.store import api, audit, db, ingest, models

HEIGHT, WIDTH = 480, 640
TARGET_SECONDS, TARGET_MB = 30.0, 500.0


def _reader() -> tuple[Callable[[Path], ParsedAnnotations], str]:
    try:
        from qc.formats.coco import read_instances
    except ImportError:
        return _local_read_instances, "LOCAL STAND-IN LOADER (qc.formats.coco not available)"

    def read(path: Path) -> ParsedAnnotations:
        return read_instances(path)

    return read, "qc.formats.coco.read_instances"


def _local_read_instances(path: Path) -> ParsedAnnotations:
    """STAND-IN, used only while qc.formats.coco is missing: polygons to RLE, no validation at all."""
    from qc import masks
    from qc.match import Segment

    data = json.loads(path.read_text())
    images = {i["id"]: ImageInfo(i["id"], i["file_name"], i["height"], i["width"]) for i in data["images"]}
    segments = [
        (a["image_id"], Segment(a["id"], a["category_id"], masks.from_polygons(a["segmentation"], HEIGHT, WIDTH)))
        for a in data["annotations"]
    ]
    return ParsedAnnotations(str(path), "coco", images, segments)


def _objects(rng: np.random.Generator, n_images: int, n_instances: int) -> np.ndarray:
    """Per image and instance: centre x, centre y, radius, class (the shared truth)."""
    cx = rng.uniform(40, WIDTH - 40, (n_images, n_instances))
    cy = rng.uniform(40, HEIGHT - 40, (n_images, n_instances))
    radius = rng.uniform(8, 35, (n_images, n_instances))
    cls = rng.integers(1, 6, (n_images, n_instances)).astype(float)
    return np.stack([cx, cy, radius, cls], axis=-1)


def _polygon(rng: np.random.Generator, obj: np.ndarray, noise: float) -> list[float]:
    angles = np.linspace(0, 2 * math.pi, 12, endpoint=False)
    radii = obj[2] * (1 + 0.15 * np.sin(3 * angles)) + rng.normal(0, noise, angles.size)
    xs = np.clip(obj[0] + radii * np.cos(angles), 0, WIDTH - 1)
    ys = np.clip(obj[1] + radii * np.sin(angles), 0, HEIGHT - 1)
    return np.round(np.stack([xs, ys], axis=1).ravel(), 2).tolist()


def write_files(folder: Path, *, n_images: int, n_annotators: int, n_instances: int, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    truth = _objects(rng, n_images, n_instances)
    images = [{"id": i + 1, "file_name": f"img_{i:05d}.png", "height": HEIGHT, "width": WIDTH} for i in range(n_images)]
    categories = [{"id": c, "name": f"class{c}"} for c in range(1, 6)]
    paths = []
    for annotator in range(n_annotators):
        annotations = [
            {"id": i * n_instances + j + 1, "image_id": i + 1, "category_id": int(truth[i, j, 3]), "iscrowd": 0}
            | {"segmentation": [_polygon(rng, truth[i, j], 1.0 + annotator)]}
            for i in range(n_images)
            for j in range(n_instances)
        ]
        path = folder / f"annotator_{annotator}.json"
        path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
        paths.append(path)
    return paths


def prepare_store(url: str, *, n_images: int, n_annotators: int) -> tuple[int, list[int]]:
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        project_id = api.create_project(session, name="bench", task_type="instance").id or 0
        infos = [ImageInfo(i + 1, f"img_{i:05d}.png", HEIGHT, WIDTH) for i in range(n_images)]
        image_ids = [row.id or 0 for row in api.add_images(session, project_id=project_id, images=infos)]
        people = [
            api.add_person(session, name=f"annotator{a}", roles=["annotator"]).id or 0 for a in range(n_annotators)
        ]
        round_id = api.create_round(session, project_id=project_id, k=n_annotators).id or 0
        api.add_assignments(session, round_id=round_id, pairs=[(i, p) for i in image_ids for p in people])
    engine.dispose()
    return round_id, people


def run(args: argparse.Namespace) -> dict[str, Any]:
    read, reader_name = _reader()
    figures: dict[str, Any] = {"reader": reader_name}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        paths = write_files(
            folder, n_images=args.images, n_annotators=args.annotators, n_instances=args.instances, seed=args.seed
        )
        figures["generate_s"] = time.perf_counter() - start
        url = f"sqlite:///{folder / 'bench.db'}"
        start = time.perf_counter()
        round_id, people = prepare_store(url, n_images=args.images, n_annotators=args.annotators)
        figures["setup_s"] = time.perf_counter() - start
        engine = db.make_engine(url)
        read_s = ingest_s = 0.0
        for path, person in zip(paths, people, strict=True):
            start = time.perf_counter()
            parsed = read(path)
            digest = ingest.sha256_file(path)
            read_s += time.perf_counter() - start
            start = time.perf_counter()
            with db.session_scope(engine) as session:
                result = ingest.ingest_file(
                    session, round_id=round_id, annotator_id=person, parsed=parsed, content_hash=digest
                )
            ingest_s += time.perf_counter() - start
            if result.rejections:
                print(f"warning: {result.rejections} rejections in {path.name}", file=sys.stderr)
        start = time.perf_counter()
        with db.session_scope(engine) as session:
            again = ingest.ingest_file(
                session,
                round_id=round_id,
                annotator_id=people[0],
                parsed=read(paths[0]),
                content_hash=ingest.sha256_file(paths[0]),
            )
        figures["reingest_one_file_s"] = time.perf_counter() - start
        figures["reingest_stored_nothing"] = again.stored_nothing
        with db.session_scope(engine) as session:
            figures["segments"] = audit.count_rows(session, model=models.Segment)
            figures["submissions"] = audit.count_rows(session, model=models.Submission)
        engine.dispose()
        figures |= {"read_s": read_s, "ingest_s": ingest_s, "total_s": read_s + ingest_s}
        figures["db_mb"] = sum(p.stat().st_size for p in folder.glob("bench.db*")) / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()
    figures = run(args)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"reader: {figures['reader']}")
    print(f"{args.images} images x {args.annotators} annotators x {args.instances} instances")
    print(f"  generate COCO files  {figures['generate_s']:7.2f} s   (not counted)")
    print(f"  store setup          {figures['setup_s']:7.2f} s   (migrate, images, people, assignments)")
    print(f"  read (3 files)       {figures['read_s']:7.2f} s")
    print(f"  ingest (3 files)     {figures['ingest_s']:7.2f} s")
    print(f"  read + ingest        {figures['total_s']:7.2f} s   target < {TARGET_SECONDS:.0f} s")
    nothing = figures["reingest_stored_nothing"]
    print(f"  re-ingest one file   {figures['reingest_one_file_s']:7.2f} s   stored nothing: {nothing}")
    print(
        f"  stored: {figures['submissions']} submissions, {figures['segments']} segments, db {figures['db_mb']:.1f} MB"
    )
    print(f"  peak RSS             {peak_rss_mb:7.1f} MB  target < {TARGET_MB:.0f} MB")
    if args.tracemalloc:
        _, peak = tracemalloc.get_traced_memory()
        print(f"  peak traced (python) {peak / 2**20:7.1f} MB")
    fast = figures["total_s"] < TARGET_SECONDS or args.tracemalloc  # tracemalloc's own cost is not ours
    ok = fast and peak_rss_mb < TARGET_MB
    print("PASS" if ok else "MISS")


if __name__ == "__main__":
    main()
