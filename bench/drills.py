"""Crash drills: nothing is lost or stored twice when scoring or ingestion is killed, or PostgreSQL restarts.

Run: ``.venv/bin/python -m bench.drills [score|ingest|pg-restart|all] [--images N] [--kills K]``.

- ``score``: a 300-image round is scored by a subprocess (``score_batch`` over the pending
  images in batches) that is SIGKILLed after a random delay, 20 times, rerun each time; a
  final run completes. The stored scores, flags, results and consensus equal an
  uninterrupted run's on a copy, and no (round, image) result is duplicated.
- ``ingest``: the same with ``ingest_folder``: after every kill each submission has all its
  segments; the final submissions and segments equal an uninterrupted ingest's.
- ``pg-restart``: the score flow on a throwaway PostgreSQL database (server of
  ``QC_TEST_POSTGRES_URL``) while the server is restarted with ``pg_ctlcluster``; the flow's
  database steps retry and every image is scored once, as on SQLite.

The functions return a :class:`DrillResult`; ``tests/drills/`` runs small versions of them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.workload import SMALL, Prepared, ingest, prepare, stored_contents
from qc import rounds
from qc.store import audit, db

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class DrillResult:
    name: str
    kills: int = 0
    finished_before_kill: int = 0
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        status = "OK" if self.ok else f"FAILED: {self.problems[:5]}"
        return (
            f"{self.name}: {self.kills} kills ({self.finished_before_kill} runs finished first) {self.figures} {status}"
        )


# --- child entry points (run as subprocesses, killed at random) ------------------------------------------


def _child_score(url: str, round_id: int, batch: int) -> None:
    with db.session_for(url, write=False) as session:
        pending = rounds.pending_images(session, round_id=round_id)
    for i in range(0, len(pending), batch):
        rounds.score_batch(url, round_id=round_id, image_ids=pending[i : i + batch])
    with db.session_for(url) as session:  # as the score flow does once every batch is stored
        rounds.assign_followups(session, round_id=round_id)


def _child_ingest(url: str, round_id: int, folder: str) -> None:
    ingest(Prepared(url, round_id, Path(folder)))


def _run_child(args: list[str], *, kill_after: float | None) -> bool:
    """Run this script's child command; SIGKILL it after ``kill_after`` s. True if it finished by itself."""
    process = subprocess.Popen([sys.executable, "-m", "bench.drills", *args], cwd=ROOT)
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return False
    if process.returncode != 0:
        raise RuntimeError(f"drill child {args} failed with exit code {process.returncode}")
    return True


# --- drills ----------------------------------------------------------------------------------------------


def score_drill(folder: Path, *, images: int = 300, kills: int = 20, batch: int = 10, seed: int = 7) -> DrillResult:
    """SIGKILL the scoring ``kills`` times at random points, then finish; compare with an uninterrupted run."""
    result = DrillResult("score kill")
    prepared = prepare(f"sqlite:///{folder / 'killed.db'}", folder, images, **SMALL)
    shutil.copy(folder / "killed.db", folder / "reference.db")
    reference = f"sqlite:///{folder / 'reference.db'}"
    start = time.perf_counter()
    _run_child(["_score", reference, str(prepared.round_id), str(batch)], kill_after=None)
    full = time.perf_counter() - start
    rng = random.Random(seed)
    for _ in range(kills):
        if _run_child(["_score", prepared.url, str(prepared.round_id), str(batch)], kill_after=rng.uniform(0.3, full)):
            result.finished_before_kill += 1
        else:
            result.kills += 1
        result.problems += duplicated_results(prepared.url, prepared.round_id)
    _run_child(["_score", prepared.url, str(prepared.round_id), str(batch)], kill_after=None)
    result.figures = {"images": images, "uninterrupted_s": round(full, 1)}
    result.problems += compare_round(prepared.url, reference, prepared.round_id, images)
    return result


def ingest_drill(folder: Path, *, images: int = 300, kills: int = 20, seed: int = 11) -> DrillResult:
    """SIGKILL ``ingest_folder`` ``kills`` times at random points, then finish; compare with an uninterrupted one."""
    result = DrillResult("ingest kill")
    prepared = prepare(f"sqlite:///{folder / 'killed.db'}", folder, images, ingested=False, **SMALL)
    shutil.copy(folder / "killed.db", folder / "reference.db")
    reference = f"sqlite:///{folder / 'reference.db'}"
    start = time.perf_counter()
    _run_child(["_ingest", reference, str(prepared.round_id), str(prepared.delivery)], kill_after=None)
    full = time.perf_counter() - start
    rng = random.Random(seed)
    for _ in range(kills):
        args = ["_ingest", prepared.url, str(prepared.round_id), str(prepared.delivery)]
        if _run_child(args, kill_after=rng.uniform(0.3, full)):
            result.finished_before_kill += 1
        else:
            result.kills += 1
        result.problems += half_submissions(prepared.url)
    _run_child(["_ingest", prepared.url, str(prepared.round_id), str(prepared.delivery)], kill_after=None)
    result.problems += half_submissions(prepared.url)
    killed, ref = submission_contents(prepared.url), submission_contents(reference)
    if killed != ref:
        result.problems.append(f"submissions differ from the uninterrupted ingest ({len(killed)} vs {len(ref)})")
    submissions = len({row[:2] for row in ref})
    result.figures = {
        "images": images,
        "submissions": submissions,
        "segments": len(ref),
        "uninterrupted_s": round(full, 1),
    }
    return result


def pg_restart_drill(
    folder: Path, *, images: int = 300, delay: float = 4.0, base_url: str | None = None
) -> DrillResult:
    """Restart PostgreSQL while the score flow runs on a throwaway database; every image is scored once."""
    from sqlalchemy import text

    from flows.round import score_round

    result = DrillResult("postgres restart")
    server = db.resolve_url(base_url or os.environ.get("QC_TEST_POSTGRES_URL") or PG_DEFAULT)
    name = f"qc_drill_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        prepared = prepare(url, folder, images, **SMALL)
        reference = prepare(f"sqlite:///{folder / 'reference.db'}", folder / "ref", images, **SMALL)
        rounds_done: dict[str, Any] = {}
        runner = threading.Thread(
            target=lambda: rounds_done.update(out=score_round(url, prepared.round_id, batch_size=10, workers=2))
        )
        start = time.perf_counter()
        runner.start()
        time.sleep(delay)
        restart = restart_postgres()
        runner.join()
        result.kills = 1
        result.figures = {
            "images": images,
            "restart_s": round(restart, 1),
            "flow_s": round(time.perf_counter() - start, 1),
        }
        if "out" not in rounds_done:
            result.problems.append("the score flow did not complete")
        # anything the flow left (none expected) would show as a difference below
        _child_score(f"sqlite:///{folder / 'reference.db'}", reference.round_id, 50)
        result.problems += duplicated_results(url, prepared.round_id)
        got, want = (
            verdicts(url, prepared.round_id),
            verdicts(f"sqlite:///{folder / 'reference.db'}", reference.round_id),
        )
        if got != want:
            result.problems.append(f"{len(got)} results on PostgreSQL vs {len(want)} on SQLite, or they differ")
    finally:
        admin.dispose()
        time.sleep(0.5)
        drop = db.make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
        with drop.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        drop.dispose()
    return result


def restart_postgres() -> float:
    """Restart the local PostgreSQL cluster (Debian's pg_ctlcluster); the seconds it took."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    start = time.perf_counter()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)
    return time.perf_counter() - start


# --- checks ----------------------------------------------------------------------------------------------


def duplicated_results(url: str, round_id: int) -> list[str]:
    """(round, image) pairs with more than one stored result."""
    with db.session_for(url, write=False) as session:
        duplicated = audit.duplicated_results(session, round_id=round_id)
    return [f"image {image} has {n} results" for image, n in duplicated.items()]


def compare_round(url: str, reference: str, round_id: int, images: int) -> list[str]:
    """Differences between what two databases stored for a round (rows without ids and timestamps)."""
    got, want = stored_contents(url, round_id), stored_contents(reference, round_id)
    problems = [f"{t}: {len(got[t])} rows vs {len(want[t])} uninterrupted" for t in want if got[t] != want[t]]
    if len(want["image_result"]) != images:
        problems.append(f"the uninterrupted run stored {len(want['image_result'])} results of {images} images")
    return problems


def half_submissions(url: str) -> list[str]:
    """Submissions whose stored segments are fewer than their segment count."""
    with db.session_for(url, write=False) as session:
        short = audit.short_submissions(session)
    return [f"submission {s.submission_id} has {s.stored} of {s.expected} segments" for s in short]


def submission_contents(url: str) -> list[tuple[str, ...]]:
    """Every submission with its segments (content, not ids), sorted."""
    with db.session_for(url, write=False) as session:
        return audit.submission_contents(session)


def verdicts(url: str, round_id: int) -> list[tuple[int, str, str]]:
    with db.session_for(url, write=False) as session:
        return audit.round_verdicts(session, round_id=round_id)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_score":
        _child_score(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_ingest":
        _child_ingest(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drill", nargs="?", default="all", choices=["score", "ingest", "pg-restart", "all"])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--kills", type=int, default=20)
    args = parser.parse_args()
    quiet = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING"}
    for key, value in quiet.items():
        os.environ.setdefault(key, value)
    results = []
    with tempfile.TemporaryDirectory(prefix="qc-drills-") as tmp:
        os.environ.setdefault("PREFECT_HOME", f"{tmp}/prefect")
        for name, drill in (("score", score_drill), ("ingest", ingest_drill)):
            if args.drill in (name, "all"):
                (Path(tmp) / name).mkdir()
                results.append(drill(Path(tmp) / name, images=args.images, kills=args.kills))
                print(results[-1].line(), flush=True)
        if args.drill in ("pg-restart", "all"):
            (Path(tmp) / "pg").mkdir()
            results.append(pg_restart_drill(Path(tmp) / "pg", images=args.images))
            print(results[-1].line(), flush=True)
    if not all(r.ok for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
