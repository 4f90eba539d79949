"""``qc report``: the manager's HTML report of a round or a project (and per-annotator feedback pages)."""

from __future__ import annotations

from pathlib import Path

import typer

from qc.cli._common import DB_OPTION, console, exactly_one, failures, open_session

__all__ = ["report_app"]

report_app = typer.Typer(help="Agreement and compliance report (one self-contained HTML file).")


@report_app.callback(invoke_without_command=True)
def report(
    round_id: int | None = typer.Option(None, "--round", help="Report on this round."),
    project: str | None = typer.Option(None, "--project", help="Report on every round of this project (trends)."),
    out: Path = typer.Option(Path("report.html"), "-o", "--out", help="HTML file to write."),
    tables: Path | None = typer.Option(None, "--tables", help="Also write every table as CSV and Parquet here."),
    annotator: str | None = typer.Option(None, "--annotator", help="Write this annotator's feedback page instead."),
    resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples for the confidence intervals."),
    thumbnails: int = typer.Option(50, "--thumbnails", help="Overlay thumbnails for the worst N images."),
    url: str | None = DB_OPTION,
) -> None:
    """Write the report of one round (--round N) or a project (--project NAME) to -o FILE.html."""
    from reports.build import ReportOptions, write_report

    with failures():
        exactly_one({"--round N": round_id is not None, "--project NAME": project is not None})
        options = ReportOptions(resamples=resamples, thumbnails=thumbnails)
        with open_session(url, write=False) as session:
            path = write_report(
                session, out, round_id=round_id, project=project, tables=tables, annotator=annotator, options=options
            )
    console.print(f"report: {path}" + (f" (tables in {tables})" if tables else ""))
