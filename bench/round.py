"""Round benchmark (issue: consensus rounds). Run: ``.venv/bin/python -m bench.round [--images 1000]``.

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
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.workload import ingest, offline_prefect, prepare


def prepared_round(folder: Path, count: int) -> tuple[int, float]:
    """A scheduled, fully delivered round in ``folder/bench.db``; returns (round id, ingest seconds)."""
    round_ = prepare(f"sqlite:///{folder / 'bench.db'}", folder, count, ingested=False)
    start = time.perf_counter()
    ingest(round_)
    return round_.round_id, time.perf_counter() - start


def plain_pool(url: str, round_id: int, workers: int, batch: int) -> float:
    """The same scoring without Prefect: pending images in batches on a spawned process pool."""
    from qc import rounds
    from qc.store import db

    start = time.perf_counter()
    with db.session_for(url, write=False) as session:
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
    offline_prefect(folder / "prefect")
    start = time.perf_counter()
    round_id, ingest_s = prepared_round(folder, args.images)
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
