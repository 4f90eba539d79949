"""``qc demo``: a whole consensus round on bundled sample data (:mod:`flows.demo`), then where the report is."""

from __future__ import annotations

from pathlib import Path

import typer

from qc.cli._common import configure_prefect, console, failures, open_session, working
from qc.cli.round import print_status

__all__ = ["demo"]


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
        from qc.rounds import round_status

        with working("running the demo round (the first Prefect run starts a local server)"):
            result = run_demo(out, workers=workers)
        with open_session(result.database_url, write=False) as session:
            print_status(round_status(session, round_id=result.round_id))
    console.print(f"accepted labels: {result.export}")
    console.print(f"report: {result.report}")
