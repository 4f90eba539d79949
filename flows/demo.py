"""The whole story on bundled sample data: one consensus round with adaptive overlap, end to end.

1. a project from ``examples/guideline.yaml`` and 13 images cut from scikit-image's sample
   pictures; one image with a known answer (gold);
2. a round routed blind to 2 of 4 simulated annotators per image (careful, sloppy, misses
   small instances, confuses galaxies and stars), who export COCO files as a tool would and
   now and then break the guideline (a hole, a stray fragment, a sliver: :mod:`qc.demo._slips`);
3. ingest, score, flag; images whose two annotators disagree get a third (adaptive overlap);
4. close: review items for what no majority settles and for the guideline's breaches (disputes
   of every kind: unsupported, class conflict, guideline), the accepted consensus exported as
   COCO, and an HTML summary (its compliance tables count the breaches).

Everything goes through the real flows, the embedded SQLite database and a local Prefect run.
:func:`run_demo` reports each phase as one line to its ``progress`` callable (the command line prints them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, task
from sqlmodel import Session

from flows.round import close_round, ingest_round, outcome_counts, schedule_round, score_round
from qc import demo
from qc.guideline import load_guideline
from qc.rounds import init_project, round_status
from qc.store import db
from qc.store.api import add_images
from qc.store.segments import add_gold_segments
from reports.build import write_report

REPO = Path(__file__).resolve().parent.parent
GUIDELINE = REPO / "examples" / "guideline.yaml"
PROFILES = {"ana": "careful", "ben": "sloppy", "cai": "misses_small", "dee": "confuses_class"}
SEED = 7
MAX_DELIVERIES = 3
_listeners: list[Callable[[str], None]] = []
"""Where :func:`phase` sends its lines: the ``progress`` callable of the running :func:`run_demo`, if any."""


def phase(line: str) -> None:
    """One line saying what the demo has just done."""
    for listener in _listeners:
        listener(line)


@dataclass(frozen=True)
class DemoResult:
    database_url: str
    round_id: int
    report: Path
    export: Path
    simulation: Path


def set_up_project(session: Session, out_dir: Path) -> dict[str, Any]:
    """Project, images (written as PNG under ``out_dir/images``) and the gold answer of the first coins tile."""
    truth = demo.load_truth()
    images = demo.demo_images()
    paths = demo.write_demo_images(out_dir / "images", images)
    ref = init_project(session, guideline=load_guideline(GUIDELINE), name="demo")
    rows = add_images(
        session, project_id=ref.project_id, images=demo.image_infos(images), paths={p.name: str(p) for p in paths}
    )
    ids = {row.file_name: row.id for row in rows}
    gold_name = "coins_tile_1.png"
    truth_id = next(i for i, info in truth.images.items() if info.file_name == gold_name)
    gold = [s for image_id, s in truth.segments if image_id == truth_id]
    add_gold_segments(session, image_id=int(ids[gold_name] or 0), segments=gold, source="demo truth")
    regular = [int(i or 0) for name, i in ids.items() if name != gold_name]
    return {"project_id": ref.project_id, "image_ids": regular, "gold_image_ids": [int(ids[gold_name] or 0)]}


def delivery_row(delivery: demo.Delivery) -> dict[str, Any]:
    """One simulated delivery as the demo's ``simulation.json`` records it."""
    return {
        "annotator": delivery.annotator,
        "profile": PROFILES[delivery.annotator],
        "file": str(delivery.path),
        "images": list(delivery.images),
        "removed": [list(r) for r in delivery.simulation.removed],
        "relabelled": [list(r) for r in delivery.simulation.relabelled],
        "slips": [list(r) for r in delivery.simulation.slips],
    }


@task(name="set-up-project")
def setup_task(database_url: str, out_dir: str) -> dict[str, Any]:
    """A fresh schema, then :func:`set_up_project`."""
    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    with db.session_for(database_url) as session:
        return set_up_project(session, Path(out_dir))


@task(name="simulate-deliveries")
def deliver_task(database_url: str, round_id: int, folder: str) -> list[dict[str, Any]]:
    """The simulated annotators export what they owe (files named after them)."""
    with db.session_for(database_url, write=False) as session:
        owed = demo.undelivered(session, round_id=round_id)
    deliveries = demo.write_deliveries(owed, truth=demo.load_truth(), profiles=PROFILES, folder=folder, seed=SEED)
    return [delivery_row(d) for d in deliveries]


@task(name="report")
def report_task(database_url: str, round_id: int, path: str) -> str:
    with db.session_for(database_url, write=False) as session:
        return str(write_report(session, path, round_id=round_id))


@flow(name="demo")
def demo_flow(out_dir: str, workers: int = 2) -> dict[str, Any]:
    """Run the demo round into ``out_dir`` (a fresh SQLite database there)."""
    out = Path(out_dir)
    database_url = f"sqlite:///{out / 'qc.db'}"
    setup = setup_task(database_url, str(out))
    images = len(setup["image_ids"]) + len(setup["gold_image_ids"])
    phase(f"project 'demo': {images} images cut from scikit-image's sample pictures, one with a known answer (gold)")
    scheduled = schedule_round(
        database_url,
        project_id=setup["project_id"],
        annotators=sorted(PROFILES),
        seed=SEED,
        image_ids=setup["image_ids"],
        gold_image_ids=setup["gold_image_ids"],
        name="demo-1",
    )
    round_id = scheduled["round_id"]
    phase(f"round demo-1: {scheduled['assignments']} assignments, routed blind to {len(PROFILES)} simulated annotators")
    log: list[dict[str, Any]] = []
    for number in range(1, MAX_DELIVERIES + 1):
        delivered = deliver_task(database_url, round_id, str(out / "deliveries" / f"round-{round_id}-{number}"))
        if not delivered:
            break
        log.extend(delivered)
        ingested = ingest_round(database_url, round_id, str(out / "deliveries" / f"round-{round_id}-{number}"))
        outcomes = score_round(database_url, round_id, workers=workers)
        counts = ", ".join(f"{verdict} {n}" for verdict, n in sorted(outcome_counts(outcomes).items()))
        phase(f"delivery {number}: {len(ingested)} annotator files ingested, {len(outcomes)} images scored ({counts})")
    export = out / "accepted.json"
    closed = close_round(database_url, round_id, str(export))
    phase(f"round closed: {len(closed['accepted'])} images accepted and exported, {len(closed['review'])} in review")
    (out / "simulation.json").write_text(json.dumps(log, indent=1), encoding="utf-8")
    report = report_task(database_url, round_id, str(out / "report.html"))
    phase("report written")
    return {"database_url": database_url, "round_id": round_id, "report": report, "export": str(export), **closed}


def run_demo(out_dir: str | Path, *, workers: int = 2, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run :func:`demo_flow` and return where everything went; ``progress`` gets one line per phase."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if (out / "qc.db").exists():
        (out / "qc.db").unlink()
    _listeners[:] = [progress] if progress is not None else []
    try:
        result = demo_flow(str(out), workers)
    finally:
        _listeners.clear()
    return DemoResult(
        result["database_url"],
        result["round_id"],
        Path(result["report"]),
        Path(result["export"]),
        out / "simulation.json",
    )


def summary_rows(database_url: str, round_id: int) -> dict[str, Any]:
    """The numbers the CLI prints at the end of the demo."""
    with db.session_for(database_url, write=False) as session:
        return round_status(session, round_id=round_id).to_dict()
