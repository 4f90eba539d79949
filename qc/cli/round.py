"""``qc round schedule|ingest|sync|push|score|status|close``: consensus rounds, each step run as a Prefect flow.

The flows (:mod:`flows.round`) are imported inside the commands that run them, so that
``qc round status`` and ``qc --help`` do not load Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from qc.cli._common import (
    DB_OPTION,
    console,
    database_url,
    failures,
    open_session,
    prefect_api,
    print_table,
    project_id,
    ready,
    working,
)

if TYPE_CHECKING:
    from qc.rounds import RoundStatus

__all__ = ["print_status", "round_app"]

round_app = typer.Typer(help="Consensus rounds: schedule, ingest, score, status, close.", no_args_is_help=True)


@round_app.command("schedule")
def schedule(
    project: str = typer.Option(..., "--project", "-p", help="Project name."),
    annotators: str = typer.Option(..., "--annotators", "-a", help="Comma-separated annotator names (the pool)."),
    seed: int = typer.Option(0, "--seed", help="Routing seed (same seed, same plan)."),
    k: int | None = typer.Option(None, "--k", help="Annotators per image (default: the guideline's k_initial)."),
    name: str | None = typer.Option(None, "--name", help="Round name (unique in the project)."),
    url: str | None = DB_OPTION,
) -> None:
    """Route every image of the project blind to k annotators."""
    target = database_url(url)
    with failures():
        with open_session(url, write=False) as session:
            pid = project_id(session, project)
        with prefect_api(target):
            from flows.round import schedule_round

            with working("scheduling"):
                pool = [a.strip() for a in annotators.split(",") if a.strip()]
                result = schedule_round(target, project_id=pid, annotators=pool, seed=seed, k=k, name=name)
    console.print(
        f"round {result['round_id']}: {result['assignments']} assignments over {result['images']} images; "
        f"load {result['load']}"
    )
    for image_id, reason in result["unassigned"]:
        console.print(Text.assemble(("not routed:", "yellow"), f" image {image_id}: {reason}"))
    _print_pushed(result.get("labelstudio"))
    _print_paused(result.get("paused", {}))


def _print_pushed(pushed: dict[str, Any] | None) -> None:
    """The Label Studio projects a push created (one line per annotator)."""
    for name, project in sorted((pushed or {}).get("projects", {}).items()):
        console.print(f"Label Studio: {name}: {pushed['tasks'][name]} tasks in project {project}")  # type: ignore[index]


@round_app.command("ingest")
def ingest(
    round_id: int = typer.Argument(..., help="Round id."),
    folder: Path = typer.Argument(
        ..., exists=True, help="Delivery folder (<annotator>.json/.xml files, <annotator>/<image>.png) or one file."
    ),
    model: str | None = typer.Option(None, "--model", help="Ingest as the predictions of this model (role model)."),
    url: str | None = DB_OPTION,
) -> None:
    """Ingest one file per annotator (the format is detected and named), or a model's predictions."""
    with failures():
        target = ready(url)
        with prefect_api(target):
            from flows.round import ingest_round

            with working(f"ingesting {folder}"):
                reports = ingest_round(target, round_id, str(folder), model)
    if not reports:  # the wrong folder, or a delivery not yet copied in: say so rather than print nothing
        console.print(
            Text.assemble(
                ("nothing to ingest:", "yellow"),
                f" {folder} holds no delivery file (<annotator>.json or .xml, or <annotator>/<image>.png); "
                "nothing was stored",
            )
        )
    for item in reports:
        if item["refused"] is not None:  # stored nothing of this file (the others stand alone): say why
            who = f"{item['annotator']}: " if item["annotator"] else ""
            field = f" ({item['field']})" if item.get("field") else ""
            console.print(Text.assemble(("refused:", "yellow"), f" {who}{item['path']}{field}: {item['refused']}"))
            continue
        console.print(
            f"{item['annotator']}: {item['path']} read as {item['format']}: {len(item['created'])} new submissions, "
            f"{len(item['unchanged'])} unchanged, {item['segments']} segments, {item['rejections']} rejections"
            + (" (stored nothing new)" if item["event_id"] is None else "")
        )
        for note in item.get("notes", ()):
            console.print(f"  rejected: {note}", markup=False, highlight=False)


@round_app.command("sync")
def sync(
    round_id: int = typer.Argument(..., help="Round id."),
    folder: Path | None = typer.Option(
        None, "--folder", help="Keep the pulled exports here (default: labelstudio-sync beside a SQLite database)."
    ),
    score_after: bool = typer.Option(False, "--score", help="Score the images whose submissions changed."),
    url: str | None = DB_OPTION,
) -> None:
    """Pull the round's completed Label Studio annotations and ingest them (idempotent)."""
    with failures():
        target = ready(url)
        with prefect_api(target):
            from flows.connect import sync_labelstudio

            with working(f"syncing round {round_id} with Label Studio"):
                result = sync_labelstudio(target, round_id, str(folder) if folder else None, score_after)
    console.print(
        f"round {round_id}: {result['completed']} annotated tasks read, {result['new_submissions']} new submissions, "
        f"{result['pending']} not annotated yet, {len(result['skipped'])} skipped, {len(result['deleted'])} deleted; "
        f"{result['lead_times']} lead times recorded"
        + (f"; scored {result['scored']} images" if "scored" in result else "")
    )
    for kind in ("skipped", "deleted"):
        for name, file_name, task in result[kind]:
            console.print(Text.assemble((f"{kind}:", "yellow"), f" {name}: {file_name} (Label Studio task {task})"))
    for item in result["ingested"]:
        if item["refused"] is not None:
            console.print(Text.assemble(("refused:", "yellow"), f" {item['path']}: {item['refused']}"))
        for note in item.get("notes", ()):
            console.print(f"  rejected: {note}", markup=False, highlight=False)


@round_app.command("push")
def push(round_id: int = typer.Argument(..., help="Round id."), url: str | None = DB_OPTION) -> None:
    """Create the round's Label Studio projects and tasks not created yet (schedule and close do it themselves)."""
    with failures():
        target = ready(url)
        with prefect_api(target):
            from flows.connect import push_labelstudio

            with working(f"pushing round {round_id} to Label Studio"):
                pushed = push_labelstudio(target, round_id)
    if pushed is None:
        console.print(f"round {round_id}: its project is not connected to Label Studio (qc connect labelstudio)")
        return
    _print_pushed(pushed)
    if not pushed["projects"]:
        console.print(f"round {round_id}: every assignment has its Label Studio task already")


@round_app.command("score")
def score(
    round_id: int = typer.Argument(..., help="Round id."),
    batch_size: int = typer.Option(50, "--batch-size", min=1, help="Images per Prefect task."),
    workers: int = typer.Option(2, "--workers", min=1, help="Scoring processes (1: in this process)."),
    dask: str | None = typer.Option(
        None, "--dask", help="Run the batches on this existing Dask cluster (tcp://HOST:PORT) instead of --workers."
    ),
    url: str | None = DB_OPTION,
) -> None:
    """Score every image whose submissions are in and changed since it was scored."""
    with failures():
        target = ready(url)
        with prefect_api(target):
            from flows.round import outcome_counts, score_round

            start = time.perf_counter()
            with working(f"scoring round {round_id}"):
                outcomes = score_round(target, round_id, batch_size=batch_size, workers=workers, dask_address=dask)
    stored = sum(1 for o in outcomes if o["stored"])
    console.print(
        f"scored {len(outcomes)} images ({stored} changed) in {time.perf_counter() - start:.1f} s: "
        f"{outcome_counts(outcomes)}"
    )
    reopened = sorted(o["reopened"] for o in outcomes if o.get("reopened"))
    if reopened:
        items = ", ".join(str(i) for i in reopened)
        console.print(f"re-opened review items {items}: new submissions after a review; a reviewer decides again")


@round_app.command("status")
def status(round_id: int = typer.Argument(..., help="Round id."), url: str | None = DB_OPTION) -> None:
    """Where a round stands: deliveries, verdicts, findings, agreement per annotator."""
    from qc.rounds import round_status

    with failures(), open_session(url, write=False) as session:
        print_status(round_status(session, round_id=round_id))


@round_app.command("close")
def close(
    round_id: int = typer.Argument(..., help="Round id."),
    export: Path | None = typer.Option(None, "--export", help="Write the accepted consensus as COCO here."),
    url: str | None = DB_OPTION,
) -> None:
    """Queue review items, open rework rounds, export accepted labels, close the round."""
    with failures():
        target = ready(url)
        with prefect_api(target):
            from flows.round import close_round

            with working(f"closing round {round_id}"):
                result = close_round(target, round_id, str(export) if export else None)
    console.print(
        f"round {round_id} {result['status']}: {len(result['accepted'])} accepted, {len(result['review'])} in review "
        f"({result['new_review_items']} newly queued), {len(result['awaiting'])} awaiting submissions"
        + (f"; {result['disputes']} disputes stored" if result.get("disputes") else "")
        + (f"; rework round {result['rework_round_id']}" if result["rework_round_id"] else "")
        + (f"; resolutions: {_counts(result['resolutions'])}" if result.get("resolutions") else "")
        + (
            f"; {len(result['fused_again'])} accepted images fused again with the final reliability"
            if result.get("fused_again")
            else ""
        )
        + (f"; exported {result['exported_images']} images to {result['exported']}" if result["exported"] else "")
    )
    for rework, pushed in sorted((result.get("labelstudio") or {}).items()):
        console.print(f"rework round {rework} pushed to Label Studio:")
        _print_pushed(pushed)
    _print_paused(result.get("paused", {}))


def print_status(status: RoundStatus) -> None:
    """The round-status table, also printed at the end of the demo."""
    from rich.table import Table

    verdicts = status.verdicts
    console.print(
        f"round {status.name or status.round_id} ({status.status}): {status.images} images, "
        f"{status.delivered}/{status.assignments} assignments delivered; accepted {verdicts.get('accepted', 0)}, "
        f"escalated {verdicts.get('escalate', 0)}, in review {verdicts.get('review', 0)}; "
        f"labels per accepted image {status.labels_per_accepted:.2f}"
    )
    table = Table("annotator", "images", "leave-one-out IoU", "findings", title="agreement per annotator")
    ranked = sorted(status.annotators.items(), key=lambda item: -(item[1]["loo_iou"] or 0.0))
    for name, row in ranked:
        loo = row["loo_iou"]
        table.add_row(name, str(row["images"]), "–" if loo is None else f"{loo:.3f}", str(row["findings"]))
    print_table(table)
    if status.findings:
        console.print("findings: " + ", ".join(f"{k} {v}" for k, v in sorted(status.findings.items())))
    if status.resolutions:
        console.print(f"disputes resolved: {_counts(status.resolutions)}")
    _print_paused(status.paused)


def _counts(counts: Mapping[str, int]) -> str:
    """``{"take": 2, "fused": 1}`` as ``fused 1, take 2``."""
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))


def _print_paused(paused: Mapping[str, int]) -> None:
    """Name the annotators paused for failing gold (they get no new assignment)."""
    if paused:
        who = ", ".join(f"{name} ({n} gold failures)" for name, n in sorted(paused.items()))
        console.print(Text.assemble(("paused:", "yellow"), f" {who}: no new assignments until a lead looks"))
