"""Scoring on an existing Dask cluster stores exactly what the local run stores."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.workload import SMALL, prepare, stored_contents
from flows.round import _score_round, score_round
from qc.errors import InvalidOptionError

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

IMAGES = 40  # 8 batches of 5 over the 2 workers: every worker scores several; the equality holds per image


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two single-threaded worker processes, as a team's existing cluster would be (no dashboard)."""
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local,
    ):
        yield local.scheduler_address


def test_dask_scoring_equals_local_scoring(prefect_harness: None, cluster: str, tmp_path: Path) -> None:
    prepared = prepare(f"sqlite:///{tmp_path / 'dask.db'}", tmp_path, IMAGES, **SMALL)
    shutil.copy(tmp_path / "dask.db", tmp_path / "local.db")
    local_url = f"sqlite:///{tmp_path / 'local.db'}"

    on_dask = score_round(prepared.url, prepared.round_id, batch_size=5, dask_address=cluster)
    local = score_round(local_url, prepared.round_id, batch_size=5, workers=1)

    assert len(on_dask) == IMAGES and all(o["stored"] for o in on_dask)
    assert sorted(on_dask, key=lambda o: o["image_id"]) == sorted(local, key=lambda o: o["image_id"])
    dask_rows, local_rows = (
        stored_contents(prepared.url, prepared.round_id),
        stored_contents(local_url, prepared.round_id),
    )
    assert {table: len(rows) for table, rows in dask_rows.items()}["image_result"] == IMAGES
    assert all(dask_rows[table] for table in dask_rows)  # scores, flags, results and consensus were all stored
    assert dask_rows == local_rows


def test_flow_parameter_runs_on_the_cluster_and_rerun_stores_nothing(
    prefect_harness: None, cluster: str, tmp_path: Path
) -> None:
    """The score flow's ``dask_address`` parameter (what a deployment sets) moves the batches onto the cluster."""
    prepared = prepare(f"sqlite:///{tmp_path / 'again.db'}", tmp_path, 20, **SMALL)
    with distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:
        first = _score_round(prepared.url, prepared.round_id, 5, 2, cluster)
    again = score_round(prepared.url, prepared.round_id, batch_size=5, dask_address=cluster)
    assert len(first) == 20 and all(o["stored"] for o in first)
    keys = [str(t["key"]) for t in stream.data]
    assert sum(key.startswith("score_batch-") for key in keys) == 4  # 20 images in batches of 5, on Dask
    assert not any(key.startswith("score_batch_task-") for key in keys)  # the Prefect tasks stay in the flow's process
    assert again == []  # nothing pending: unchanged inputs are not rescored


def test_an_address_where_no_scheduler_answers_is_an_invalid_option(prefect_harness: None, tmp_path: Path) -> None:
    """``qc round score --dask notaurl`` (no port) or a closed port: an InvalidOptionError naming the address, not
    distributed's ValueError/OSError traceback; nothing was stored."""
    prepared = prepare(f"sqlite:///{tmp_path / 'nowhere.db'}", tmp_path, 2, **SMALL)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        for address, reason in (("notaurl", "missing port number"), ("tcp://127.0.0.1:1", "Timed out")):
            with pytest.raises(InvalidOptionError, match=f"Dask scheduler.*got '{address}'. {reason}") as raised:
                score_round(prepared.url, prepared.round_id, batch_size=5, dask_address=address)
            assert raised.value.option == "dask_address"
    assert stored_contents(prepared.url, prepared.round_id)["image_result"] == []
