"""PNG delivery benchmark: ``qc round ingest`` of class-value PNGs (``<annotator>/<image stem>.png``).

A semantic round of ``--images`` images of 512 x 512, both for two annotators, each delivering one
seeded class-value PNG per image (road over the top half, a car box somewhere) into a temporary
folder; :func:`qc.rounds.ingest_folder` reads and stores them on a fresh SQLite file, then again
(the same folder must store nothing). Prints the seconds of each run, per PNG, and the peak memory.

    .venv/bin/python -m bench.ingest_png [--images 200]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from qc import rounds
from qc.core import ImageInfo
from qc.guideline import parse_guideline
from qc.store import api, db

GUIDELINE = """
version: "1"
name: streets
task: semantic
classes:
  - {id: 1, name: road, kind: stuff, colour: "#808080"}
  - {id: 2, name: car, kind: thing, colour: "#ff0000"}
routing: {k: 2}
"""
SIZE = 512
ANNOTATORS = ("ana", "ben")


def _deliver(folder: Path, images: int) -> None:
    rng = np.random.default_rng(7)
    for name in ANNOTATORS:
        (folder / name).mkdir(parents=True)
        for index in range(images):
            labels = np.zeros((SIZE, SIZE), np.uint8)
            labels[: SIZE // 2] = 1
            y, x = (int(v) for v in rng.integers(0, SIZE - 80, 2))
            labels[y : y + 50, x : x + 80] = 2
            Image.fromarray(labels).save(folder / name / f"img{index}.png")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qc-bench-png-"))
    engine = db.make_engine(f"sqlite:///{work / 'qc.db'}")
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        infos = [ImageInfo(i, f"img{i}.jpg", SIZE, SIZE) for i in range(args.images)]
        api.add_images(session, project_id=ref.project_id, images=infos)
        scheduled = rounds.schedule_round(session, project_id=ref.project_id, annotators=list(ANNOTATORS), seed=1)
        round_id = scheduled.round_id
    _deliver(work / "delivery", args.images)
    pngs = args.images * len(ANNOTATORS)
    for label in ("first ingest", "same folder again"):
        start = time.perf_counter()
        with db.session_scope(engine) as session:
            results = rounds.ingest_folder(session, round_id=round_id, folder=work / "delivery")
        seconds = time.perf_counter() - start
        created = sum(len(r.result.created) for r in results)
        refused = sum(1 for r in results if r.refused)
        print(
            f"{label}: {pngs} PNGs of {SIZE}x{SIZE} in {seconds:.2f} s ({1000 * seconds / pngs:.1f} ms a PNG), "
            f"{created} new submissions, {refused} refused"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
