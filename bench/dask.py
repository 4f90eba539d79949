"""Scale-out benchmark: a 1,000-image round scored locally and on a 2-worker Dask cluster.

Run: ``.venv/bin/python -m bench.dask [--images 1000]``. The round of ``bench/round.py``
(1024x768, 3 annotators x 20 instances; bench/workload.py) is prepared once and copied; the score flow runs
on the local runner (``--workers`` spawned processes) and on a
``distributed.LocalCluster(n_workers=2, threads_per_worker=1)`` through prefect-dask
(``dask_address``). Printed: both times and the speed-up of Dask over local.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.workload import offline_prefect, prepare  # bench/round.py's round: 1024x768, 3 x 20 instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="local spawned processes (the local runner)")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qc-bench-dask-"))
    offline_prefect(folder / "prefect")

    start = time.perf_counter()
    round_id = prepare(f"sqlite:///{folder / 'bench.db'}", folder, args.images).round_id
    print(f"prepared {args.images} images in {time.perf_counter() - start:.1f} s")
    shutil.copy(folder / "bench.db", folder / "dask.db")

    import dask
    import distributed
    from prefect import flow

    from flows.round import score_round

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    warm_up()  # the local Prefect server's one-off start is not part of either time
    start = time.perf_counter()
    local = score_round(f"sqlite:///{folder / 'bench.db'}", round_id, batch_size=args.batch, workers=args.workers)
    local_s = time.perf_counter() - start
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
    ):
        start = time.perf_counter()
        remote = score_round(
            f"sqlite:///{folder / 'dask.db'}", round_id, batch_size=args.batch, dask_address=cluster.scheduler_address
        )
        dask_s = time.perf_counter() - start
    if len(local) != len(remote):
        raise SystemExit(f"local scored {len(local)} images, Dask {len(remote)}")
    n = len(local)
    print(f"local runner ({args.workers} processes): {n} images in {local_s:.1f} s = {n / local_s:.1f}/s")
    print(f"Dask LocalCluster (2 workers x 1 thread): {n} images in {dask_s:.1f} s = {n / dask_s:.1f}/s")
    print(f"speed-up of Dask over local: {local_s / dask_s:.2f}x (same 2 cores: expect about 1x)")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
