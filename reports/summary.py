"""The round summary page: headline counts, agreement per annotator, flagged images worst first."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from qc.rounds import round_status
from qc.store import models as m
from reports.render import render


def summary_data(session: Session, *, round_id: int) -> dict[str, Any]:
    """Everything the summary page shows, as plain data."""
    status = round_status(session, round_id=round_id)
    names = dict(session.execute(select(m.Person.id, m.Person.name)).all())
    files = dict(session.execute(select(m.Image.id, m.Image.file_name)).all())
    images = []
    for result in session.scalars(
        select(m.ImageResult).where(m.ImageResult.round_id == round_id).order_by(col(m.ImageResult.image_id))
    ):
        flags = session.scalars(
            select(m.Flag)
            .where(m.Flag.round_id == round_id, m.Flag.image_id == result.image_id)
            .order_by(col(m.Flag.severity).desc())
        ).all()
        images.append(
            {
                "file_name": files[result.image_id],
                "verdict": result.verdict,
                "labels": result.labels_spent,
                "image_level": sum(1 for f in flags if f.level == "image"),
                "findings": [
                    {
                        "kind": f.kind,
                        "level": f.level,
                        "bbox": [f.bbox_x, f.bbox_y, f.bbox_w, f.bbox_h],
                        "annotators": ", ".join(names[a] for a in f.annotators),
                        "message": f.message,
                    }
                    for f in flags
                ],
            }
        )
    images.sort(key=lambda row: (row["verdict"] == "accepted", -row["image_level"], row["file_name"]))
    ranked = sorted(status.annotators.items(), key=lambda item: -(item[1]["loo_iou"] or 0.0))
    return {"status": status.to_dict(), "annotators": ranked, "images": images}


def render_summary(data: dict[str, Any]) -> str:
    """The self-contained HTML page (inline CSS, no external URL)."""
    return render("summary.html.j2", **data)
