"""Scale-out benchmark: a 1,000-image round scored locally and on a 2-worker Dask cluster.

Run: ``.venv/bin/python -m bench.dask [--images 1000]``. The round of ``bench/round.py``
(1024x768, 3 annotators x 20 instances; bench/workload.py) is prepared once and copied; the score flow runs
on the local runner (``--workers`` spawned processes) and on a
``distributed.LocalCluster(n_workers=2, threads_per_worker=1)`` (``dask_address``: the
flow's batch tasks hand ``qc.rounds.score_batch`` to the cluster).
Printed: both times and the speed-up of Dask over local.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.workload import offline_prefect, prepare  # bench/round.py's round: 1024x768, 3 x 20 instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="local spawned processes (the local runner)")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each (other load evens out)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qc-bench-dask-"))
    offline_prefect(folder / "prefect")

    start = time.perf_counter()
    round_id = prepare(f"sqlite:///{folder / 'bench.db'}", folder, args.images).round_id
    print(f"prepared {args.images} images in {time.perf_counter() - start:.1f} s")

    import dask
    import distributed
    from prefect import flow

    from flows.round import score_round

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    warm_up()  # the local Prefect server's one-off start is not part of either time

    def timed(name: str, **where: Any) -> tuple[float, list[dict[str, Any]]]:
        shutil.copy(folder / "bench.db", folder / f"{name}.db")  # each run scores the whole round afresh
        start = time.perf_counter()
        outcomes = score_round(f"sqlite:///{folder / name}.db", round_id, batch_size=args.batch, **where)
        return time.perf_counter() - start, outcomes

    times: dict[str, list[float]] = {"local": [], "dask": []}
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
    ):
        for run in range(args.repeat):
            local_s, local = timed(f"local{run}", workers=args.workers)
            dask_s, remote = timed(f"dask{run}", dask_address=cluster.scheduler_address)
            if sorted(local, key=lambda o: o["image_id"]) != sorted(remote, key=lambda o: o["image_id"]):
                raise SystemExit(f"run {run}: local and Dask outcomes differ")
            times["local"].append(local_s)
            times["dask"].append(dask_s)
            print(f"run {run + 1}: local {local_s:.1f} s, Dask {dask_s:.1f} s (same {len(local)} outcomes)")
    n = args.images
    local_s, dask_s = statistics.median(times["local"]), statistics.median(times["dask"])
    print(f"local runner ({args.workers} processes), median: {n} images in {local_s:.1f} s = {n / local_s:.1f}/s")
    print(f"Dask LocalCluster (2 workers x 1 thread), median: {n} images in {dask_s:.1f} s = {n / dask_s:.1f}/s")
    print(f"Dask's first run (cold workers): {times['dask'][0]:.1f} s; local's first: {times['local'][0]:.1f} s")
    print(f"Dask / local throughput: {local_s / dask_s:.2f}x (same 2 cores: target >= 0.9x)")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
