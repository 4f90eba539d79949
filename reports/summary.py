"""The round summary page: headline counts, agreement per annotator, flagged images worst first."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from qc.rounds import round_status
from qc.store import reports as store
from reports.build import render

__all__ = ["render_summary", "summary_data"]


def summary_data(session: Session, *, round_id: int) -> dict[str, Any]:
    """Everything the summary page shows, as plain data."""
    status = round_status(session, round_id=round_id)
    names = store.people_names(session)
    results = sorted(store.image_results(session, round_ids=[round_id]), key=lambda r: r.image_id)
    files = store.file_names(session, image_ids=[r.image_id for r in results])
    flags = store.image_flags(session, round_id=round_id)
    images: list[dict[str, Any]] = []
    for result in results:
        mine = flags.get(result.image_id, [])
        images.append(
            {
                "file_name": files[result.image_id],
                "verdict": result.verdict,
                "labels": result.labels_spent,
                "image_level": sum(1 for f in mine if f.level == "image"),
                "findings": [
                    {
                        "kind": f.kind,
                        "level": f.level,
                        "bbox": [f.x, f.y, f.w, f.h],
                        "annotators": ", ".join(names[a] for a in f.annotators),
                        "message": f.message,
                    }
                    for f in mine
                ],
            }
        )
    images.sort(key=lambda row: (row["verdict"] == "accepted", -row["image_level"], row["file_name"]))
    ranked = sorted(status.annotators.items(), key=lambda item: -(item[1]["loo_iou"] or 0.0))
    return {"status": status.to_dict(), "annotators": ranked, "images": images}


def render_summary(data: dict[str, Any]) -> str:
    """The self-contained HTML page (inline CSS, no external URL)."""
    return render("summary.html.j2", **data)
