"""Consensus-round flows: schedule, ingest, score (mapped over batches of images), close.

Tasks pass ids and database URLs, never sessions or arrays; each task is one call into
:mod:`qc.rounds`. Scoring maps one task over batches of images (50 by default) so that
Prefect's per-task cost stays a small share of the work, on a process pool (scoring is
CPU-bound Python and numpy), with ``workers=1`` in the flow's own process, or, with
``dask_address``, on the workers of an existing Dask cluster. Either way the Prefect task runs
in the flow's process and hands one plain call, :func:`qc.rounds.score_batch` (pickled by
reference), to the pool or the cluster: a worker imports only qc, not Prefect, and needs only the
qc package and access to the database. Once every batch is stored, one task gives the escalated
images their follow-up annotators (:func:`qc.rounds.assign_followups`), so that the choice never
depends on which batch finished first, and one more stores the annotators' reliability
(:func:`qc.rounds.update_reliability`).

Database steps retry: the engines of PostgreSQL ping pooled connections before use
(:func:`qc.store.db.make_engine`), and the pending-images and score-batch tasks retry after
:data:`DB_RETRY_DELAY` seconds, so a database restart in the middle of a round costs a retry,
not the round (storing re-checks input hashes, so a retried batch stores nothing twice).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, cast

from prefect import flow, task, unmapped
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows._pool import watch_parent
from qc import rounds
from qc.errors import InvalidOptionError
from qc.store import db

DEFAULT_BATCH = 50
DB_RETRIES = 3
DB_RETRY_DELAY = 3  # seconds: long enough for a PostgreSQL restart to finish
DASK_BATCHES_IN_FLIGHT = 8  # threads of the flow waiting on the cluster (the cluster queues what it cannot run yet)


def thread_runner(workers: int) -> TaskRunner[PrefectFuture[Any]]:
    """Prefect's thread-pool task runner, typed as the flow decorator takes it."""
    return cast("TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=workers))


@task(name="schedule")
def schedule_task(database_url: str, options: dict[str, Any]) -> dict[str, Any]:
    with db.session_for(database_url) as session:
        return rounds.schedule_round(session, **options).to_dict()


@task(name="ingest", retries=2, retry_delay_seconds=1)
def ingest_task(database_url: str, round_id: int, folder: str, model: str | None = None) -> list[dict[str, Any]]:
    with db.session_for(database_url) as session:
        return [item.to_dict() for item in rounds.ingest_folder(session, round_id=round_id, folder=folder, model=model)]


@task(name="pending-images", retries=DB_RETRIES, retry_delay_seconds=DB_RETRY_DELAY)
def pending_task(database_url: str, round_id: int) -> list[int]:
    with db.session_for(database_url, write=False) as session:
        return rounds.pending_images(session, round_id=round_id)


_pools: dict[int, ProcessPoolExecutor] = {}
_dask_clients: dict[str, Any] = {}


_pools_lock = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    """The process pool of this flow run's scoring (spawned: the children start clean, without Prefect).

    Batch tasks run on several threads at once: the lock makes them share one pool. Each worker
    watches this process (:func:`flows._pool.watch_parent`) and exits when it dies, even by ``kill -9``.
    """
    with _pools_lock:
        if workers not in _pools:
            context = multiprocessing.get_context("spawn")
            _pools[workers] = ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=watch_parent, initargs=(os.getpid(),)
            )
        return _pools[workers]


def _dask_client(address: str) -> Any:
    """This flow run's client of the Dask cluster at ``address`` (one, shared by the batch tasks' threads).

    An address that is malformed or where no scheduler answers is an :class:`~qc.errors.InvalidOptionError`.
    """
    with _pools_lock:
        if address not in _dask_clients:
            from distributed import Client  # imported on demand: distributed is slow to import

            try:
                _dask_clients[address] = Client(address, set_as_default=False)
            except (OSError, ValueError, TypeError) as exc:  # ValueError: no port; OSError: nothing answered
                raise InvalidOptionError(
                    "dask_address",
                    "the address of a running Dask scheduler, tcp://HOST:PORT",
                    address,
                    hint=f"{exc}; check qc round score --dask and that the scheduler runs",
                ) from exc
        return _dask_clients[address]


def _shutdown_pools() -> None:
    with _pools_lock:
        while _pools:
            _pools.popitem()[1].shutdown(wait=True)
        while _dask_clients:
            _dask_clients.popitem()[1].close()


@task(name="score-batch", retries=DB_RETRIES, retry_delay_seconds=DB_RETRY_DELAY)
def score_batch_task(
    database_url: str, round_id: int, image_ids: list[int], workers: int, dask_address: str | None = None
) -> list[dict[str, Any]]:
    if dask_address:  # on a worker of the cluster (the key names the function: score_batch-<hash>)
        client = _dask_client(dask_address)
        future = client.submit(rounds.score_batch, database_url, round_id=round_id, image_ids=image_ids, pure=False)
        outcomes = future.result()
    elif workers <= 1:  # in this process
        outcomes = rounds.score_batch(database_url, round_id=round_id, image_ids=image_ids)
    else:  # the worker process imports only qc (the library function is pickled by reference)
        outcomes = (
            _pool(workers).submit(rounds.score_batch, database_url, round_id=round_id, image_ids=image_ids).result()
        )
    return [outcome.to_dict() for outcome in outcomes]


@task(name="assign-followups", retries=DB_RETRIES, retry_delay_seconds=DB_RETRY_DELAY)
def followups_task(database_url: str, round_id: int) -> dict[int, str | None]:
    with db.session_for(database_url) as session:
        return rounds.assign_followups(session, round_id=round_id)


@task(name="reliability", retries=DB_RETRIES, retry_delay_seconds=DB_RETRY_DELAY)
def reliability_task(database_url: str, round_id: int) -> dict[str, Any]:
    with db.session_for(database_url) as session:
        return rounds.update_reliability(session, round_id=round_id).to_dict()


@task(name="close")
def close_task(database_url: str, round_id: int, export_path: str | None) -> dict[str, Any]:
    with db.session_for(database_url) as session:
        return rounds.close_round(session, round_id=round_id, export_path=export_path).to_dict()


@flow(name="schedule-round")
def schedule_round(database_url: str, **options: Any) -> dict[str, Any]:
    """Route the project's images blind to k annotators (see :func:`qc.rounds.schedule_round`); in a project
    connected to Label Studio, give each annotator their project and tasks there (``labelstudio`` in the result)."""
    from flows.connect import push_task  # the Label Studio client: loaded by the flows that push, not by every command

    result = schedule_task(database_url, options)
    pushed = push_task(database_url, result["round_id"])
    return {**result, "labelstudio": pushed} if pushed is not None else result


@flow(name="ingest-round")
def ingest_round(database_url: str, round_id: int, folder: str, model: str | None = None) -> list[dict[str, Any]]:
    """Ingest a delivery folder (one file per annotator, format detected), or a model's predictions."""
    return ingest_task(database_url, round_id, folder, model)


@flow(name="score-round", task_runner=thread_runner(2))
def _score_round(
    database_url: str, round_id: int, batch_size: int, workers: int, dask_address: str | None = None
) -> list[dict[str, Any]]:
    workers = 1 if dask_address else workers
    try:
        image_ids = pending_task(database_url, round_id)
        batches = [image_ids[i : i + batch_size] for i in range(0, len(image_ids), batch_size)]
        workers = min(workers, len(batches))  # no process (nor cluster client) when nothing waits: a no-op is quick
        warming = _warm_dask_workers(dask_address) if dask_address and batches else []
        futures = score_batch_task.map(
            unmapped(database_url), unmapped(round_id), batches, unmapped(workers), unmapped(dask_address)
        )
        outcomes = [outcome for future in futures for outcome in future.result()]
        del warming
        # once every batch is stored, in one place: who labels an escalated image next never depends on batch timing
        chosen = followups_task(database_url, round_id)
        if image_ids:  # the annotators' reliability, from the observations every scored image stored
            reliability_task(database_url, round_id)
        return [_with_followup(outcome, chosen) for outcome in outcomes]
    finally:
        _shutdown_pools()


def _warm_dask_workers(address: str) -> list[Any]:
    """Start ``import qc.rounds`` on every worker of the cluster; its futures (hold them until the batches ran)."""
    client = _dask_client(address)
    return [
        client.submit(exec, "import qc.rounds", key=f"qc-warm-up-{worker}", workers=[worker], pure=False)
        for worker in client.scheduler_info()["workers"]
    ]


def _with_followup(outcome: dict[str, Any], chosen: dict[int, str | None]) -> dict[str, Any]:
    """The outcome with its follow-up annotator (``review`` when an escalated image found nobody free)."""
    if outcome["image_id"] not in chosen:
        return outcome
    followup = chosen[outcome["image_id"]]
    return {**outcome, "followup": followup, "verdict": outcome["verdict"] if followup is not None else "review"}


def score_round(
    database_url: str,
    round_id: int,
    *,
    batch_size: int = DEFAULT_BATCH,
    workers: int = 2,
    dask_address: str | None = None,
) -> list[dict[str, Any]]:
    """Score every image whose submissions are in and changed since it was last scored.

    Batches of ``batch_size`` images are mapped as Prefect tasks; with ``workers`` > 1 their
    work runs on that many spawned processes (scoring is CPU-bound), with 1 in this process.
    With ``dask_address`` the batches run on that Dask cluster's workers instead (``workers``
    is then ignored). Re-running scores nothing twice (unchanged inputs store nothing). A
    ``batch_size`` or ``workers`` below 1 raises :class:`~qc.errors.InvalidOptionError`.
    """
    InvalidOptionError.check_count("batch_size", batch_size, 1)
    InvalidOptionError.check_count("workers", workers, 1)
    # more batches in flight than processes, so that the pool has work queued while Prefect records states
    runner = thread_runner(DASK_BATCHES_IN_FLIGHT if dask_address else workers + 2)
    return _score_round.with_options(task_runner=runner)(database_url, round_id, batch_size, workers, dask_address)


@flow(name="close-round")
def close_round(database_url: str, round_id: int, export_path: str | None = None) -> dict[str, Any]:
    """Queue review items, open rework rounds, export the accepted consensus, close the round; in a project
    connected to Label Studio, the rework rounds opened from this round (at close, or by reviewers' decisions)
    go there as tasks (``labelstudio``: what was pushed, by rework round id)."""
    from flows.connect import push_rework_task

    result = close_task(database_url, round_id, export_path)
    pushed = push_rework_task(database_url, round_id)
    return {**result, "labelstudio": pushed} if pushed is not None else result


def outcome_counts(outcomes: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many scored images got each verdict."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome["verdict"]] = counts.get(outcome["verdict"], 0) + 1
    return counts
