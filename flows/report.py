"""The ``report`` flow: build the manager's report of a round or a project and write it (and its tables)."""

from __future__ import annotations

from prefect import flow, task

from qc.store import db
from reports.build import ReportOptions, write_report


@task(name="write-report")
def report_task(
    database_url: str,
    path: str,
    round_id: int | None = None,
    project: str | None = None,
    tables: str | None = None,
    annotator: str | None = None,
) -> str:
    """Build and write one report (read-only on the store)."""
    with db.session_for(database_url, write=False) as session:
        options = ReportOptions()
        written = write_report(
            session, path, round_id=round_id, project=project, tables=tables, annotator=annotator, options=options
        )
    return str(written)


@flow(name="report")
def report(
    database_url: str,
    path: str,
    round_id: int | None = None,
    project: str | None = None,
    tables: str | None = None,
    annotators: list[str] | None = None,
) -> dict[str, object]:
    """The report, plus one feedback page per name in ``annotators`` (``<path stem>-<name>.html``)."""
    main = report_task(database_url, path, round_id, project, tables)
    stem = path.removesuffix(".html")
    pages = {
        name: report_task(database_url, f"{stem}-{name}.html", round_id, project, None, name)
        for name in annotators or []
    }
    return {"report": main, "feedback": pages}
