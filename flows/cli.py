"""The ``qc`` console script: the library commands of :mod:`qc.cli` plus the ones that run flows.

Prefect runs in its default local mode (a temporary server per process, analytics off);
its home is a ``.prefect`` folder beside the qc database, so Prefect's own database stays
apart from qc's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from flows.schedules import schedule_app
from flows.server import server_app
from flows.triggers import close_reviewed_round
from qc.cli import DB_OPTION, app, console, database_url, failures, open_session, print_status, project_id
from qc.cli_review import review_app, round_reviewed_hook
from qc.rounds import round_status
from qc.store import db
from reports.cli import report_app

round_app = typer.Typer(help="Consensus rounds: schedule, ingest, score, status, close.", no_args_is_help=True)
app.add_typer(round_app, name="round")
app.add_typer(report_app, name="report")
app.add_typer(review_app, name="review")
app.add_typer(server_app, name="server")
app.add_typer(schedule_app, name="schedule")
round_reviewed_hook.append(close_reviewed_round)  # a finished review starts the close of its round

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def configure_prefect(url: str) -> None:
    """Offline, quiet Prefect whose home sits beside the qc database (or in the working folder)."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    resolved = db.resolve_url(url)
    beside = (
        Path(resolved.database).resolve().parent
        if resolved.get_backend_name() == "sqlite" and resolved.database
        else Path.cwd()
    )
    os.environ.setdefault("PREFECT_HOME", str(beside / ".prefect"))


def ready(url: str | None) -> str:
    """The database URL for a flow, after checking its schema is current and configuring Prefect."""
    target = database_url(url)
    with open_session(url, write=False):
        pass
    configure_prefect(target)
    return target


@contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner with elapsed time while a flow runs."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(what, total=None)
        yield


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
    configure_prefect(target)
    with failures():
        with open_session(url, write=False) as session:
            pid = project_id(session, project)
        from flows.round import schedule_round

        with working("scheduling"):
            pool = [a.strip() for a in annotators.split(",") if a.strip()]
            result = schedule_round(target, project_id=pid, annotators=pool, seed=seed, k=k, name=name)
    console.print(
        f"round {result['round_id']}: {result['assignments']} assignments over {result['images']} images; "
        f"load {result['load']}"
    )
    for image_id, reason in result["unassigned"]:
        console.print(f"[yellow]not routed:[/yellow] image {image_id}: {reason}")


@round_app.command("ingest")
def ingest(
    round_id: int = typer.Argument(..., help="Round id."),
    folder: Path = typer.Argument(..., exists=True, help="Delivery folder (<annotator>.json/.xml files) or one file."),
    model: str | None = typer.Option(None, "--model", help="Ingest as the predictions of this model (role model)."),
    url: str | None = DB_OPTION,
) -> None:
    """Ingest one file per annotator (the format is detected and named), or a model's predictions."""
    with failures():
        target = ready(url)
        from flows.round import ingest_round

        with working(f"ingesting {folder}"):
            reports = ingest_round(target, round_id, str(folder), model)
    for item in reports:
        console.print(
            f"{item['annotator']}: {item['path']} read as {item['format']}: {len(item['created'])} new submissions, "
            f"{len(item['unchanged'])} unchanged, {item['segments']} segments, {item['rejections']} rejections"
            + (" (stored nothing new)" if item["event_id"] is None else "")
        )


@round_app.command("score")
def score(
    round_id: int = typer.Argument(..., help="Round id."),
    batch_size: int = typer.Option(50, "--batch-size", help="Images per Prefect task."),
    workers: int = typer.Option(2, "--workers", help="Scoring processes (1: in this process)."),
    dask: str | None = typer.Option(
        None, "--dask", help="Run the batches on this existing Dask cluster (tcp://HOST:PORT) instead of --workers."
    ),
    url: str | None = DB_OPTION,
) -> None:
    """Score every image whose submissions are in and changed since it was scored."""
    with failures():
        target = ready(url)
        from flows.round import outcome_counts, score_round

        start = time.perf_counter()
        with working(f"scoring round {round_id}"):
            outcomes = score_round(target, round_id, batch_size=batch_size, workers=workers, dask_address=dask)
    stored = sum(1 for o in outcomes if o["stored"])
    console.print(
        f"scored {len(outcomes)} images ({stored} changed) in {time.perf_counter() - start:.1f} s: "
        f"{outcome_counts(outcomes)}"
    )


@round_app.command("status")
def status(round_id: int = typer.Argument(..., help="Round id."), url: str | None = DB_OPTION) -> None:
    """Where a round stands: deliveries, verdicts, findings, agreement per annotator."""
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
        from flows.round import close_round

        with working(f"closing round {round_id}"):
            result = close_round(target, round_id, str(export) if export else None)
    console.print(
        f"round {round_id} {result['status']}: {len(result['accepted'])} accepted, {len(result['review'])} in review "
        f"({result['new_review_items']} newly queued), {len(result['awaiting'])} awaiting submissions"
        + (f"; rework round {result['rework_round_id']}" if result["rework_round_id"] else "")
        + (f"; exported {result['exported_images']} images to {result['exported']}" if result["exported"] else "")
    )


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for the demo's database, files and report."),
    workers: int = typer.Option(2, "--workers", help="Scoring processes."),
) -> None:
    """Run a whole consensus round on bundled sample data and print where the report is."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    configure_prefect(f"sqlite:///{out / 'qc.db'}")
    with failures():
        from flows.demo import run_demo

        with working("running the demo round (the first Prefect run starts a local server)"):
            result = run_demo(out, workers=workers)
        with open_session(result.database_url, write=False) as session:
            print_status(round_status(session, round_id=result.round_id))
    console.print(f"accepted labels: {result.export}")
    console.print(f"report: {result.report}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
