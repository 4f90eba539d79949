"""``qc demo``: a whole consensus round on bundled sample data (:mod:`flows.demo`), then where the report is.

It prints one line per phase, the round's summary and where the report is; Prefect's own
lines (flow and task runs created, finished) go to ``prefect.log`` in the output folder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from qc.cli._common import console, failures, open_session, prefect_api, working
from qc.cli.round import print_status

__all__ = ["demo"]


def demo(
    out: Path = typer.Option(
        Path("demo-out"), "--out", file_okay=False, help="Folder for the demo's database, files and report."
    ),
    workers: int = typer.Option(2, "--workers", min=1, help="Scoring processes."),
) -> None:
    """Run a whole consensus round on bundled sample data and print where the report is."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with failures(), prefect_api(f"sqlite:///{out / 'qc.db'}"):
        from flows.demo import run_demo
        from qc.rounds import round_status

        with prefect_log(out / "prefect.log"), working("running the demo round") as show:
            result = run_demo(out, workers=workers, progress=show)
        with open_session(result.database_url, write=False) as session:
            print_status(round_status(session, round_id=result.round_id))
    console.print(f"accepted labels: {result.export}", markup=False)
    console.print(f"Prefect's flow and task runs: {out / 'prefect.log'}", markup=False)
    console.print(f"report: {result.report}", markup=False)


@contextmanager
def prefect_log(path: Path) -> Iterator[None]:
    """Prefect's run lines (INFO and up) appended to ``path`` for the block; the console keeps its warnings only."""
    prefect = logging.getLogger("prefect")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    consoles = {h: h.level for h in logging.getLogger().handlers if type(h).__name__ == "PrefectConsoleHandler"}
    level = prefect.level
    for console_handler in consoles:
        console_handler.setLevel(max(console_handler.level, logging.WARNING))
    prefect.setLevel(logging.INFO)
    prefect.addHandler(handler)
    try:
        yield
    finally:
        prefect.removeHandler(handler)
        handler.close()
        prefect.setLevel(level)
        for console_handler, before in consoles.items():
            console_handler.setLevel(before)
