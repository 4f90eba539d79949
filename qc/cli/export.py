"""``qc export``: a round's accepted consensus as COCO, or what the annotation tool needs for rework."""

from __future__ import annotations

from pathlib import Path

import typer

from qc.cli._common import DB_OPTION, console, failures, open_session

__all__ = ["export"]


def export(
    round_id: int = typer.Option(..., "--round", help="Round id."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    tool_format: str | None = typer.Option(
        None, "--format", help="coco|cvat-xml|labelstudio: for the annotation tool."
    ),
    annotator: str | None = typer.Option(None, "--annotator", help="Export this person's submission, not consensus."),
    url: str | None = DB_OPTION,
) -> None:
    """Export a round's accepted consensus labels as COCO instances; with --format/--annotator, for rework."""
    from qc.rounds import export_consensus, export_for_tool
    from qc.store import models as m
    from qc.store.api import get_row
    from qc.store.results import list_image_results

    with failures(), open_session(url, write=False) as session:
        get_row(session, m.Round, round_id)  # "no round" for any id no round has, before anything is written
        if tool_format is not None or annotator is not None:
            chosen = tool_format or "coco"
            count = export_for_tool(session, round_id=round_id, path=output, format=chosen, annotator=annotator)
            console.print(f"{count} images (accepted and rework) written to {output} as {chosen}")
            return
        accepted = [r.image_id for r in list_image_results(session, round_id=round_id) if r.verdict == "accepted"]
        count = export_consensus(session, round_id=round_id, image_ids=accepted, path=output)
    console.print(f"{count} accepted images written to {output}")
