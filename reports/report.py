"""The manager's report: one self-contained HTML file (inline CSS, SVG charts, PNG thumbnails as data URIs).

:func:`report_data` builds the frames (:mod:`reports.data`) and the figures; :func:`render_report`
turns them into HTML through :mod:`reports.render`'s environment; :func:`write_tables` writes every
frame as CSV and Parquet; :func:`render_feedback` is one annotator's page of flagged items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from qc.store import models as m
from qc.store.ingest import latest_submissions
from qc.store.segments import load_segments_of
from reports.data import ReportData, ReportOptions, build_report, rounds_for
from reports.figures import balance_svg, heatmap_svg, overlay_png, trend_svg
from reports.render import render, write_text

__all__ = ["Report", "render_feedback", "render_report", "report_data", "thumbnails", "write_report", "write_tables"]


@dataclass(frozen=True)
class Report:
    """Report frames plus the figures (SVG text) and thumbnails (``image_id -> data URI``)."""

    data: ReportData
    figures: dict[str, str]
    thumbnails: dict[tuple[int, int], str]

    def to_dict(self) -> dict[str, Any]:
        return {**self.data.to_dict(), "figures": sorted(self.figures), "thumbnails": len(self.thumbnails)}


def report_data(
    session: Session,
    *,
    round_id: int | None = None,
    project: str | None = None,
    options: ReportOptions | None = None,
) -> Report:
    """Frames, figures and thumbnails of one round (``round_id``) or every round of ``project``."""
    opts = options or ReportOptions()
    round_ids = rounds_for(session, round_id=round_id, project=project)
    title = f"project {project}" if project is not None else _round_title(session, round_ids[0])
    data = build_report(session, round_ids=round_ids, title=title, options=opts)
    figures = {
        "pairs": heatmap_svg(data.frames["pairs"]),
        "trends": trend_svg(data.frames["trends"]),
        "balance": balance_svg(data.frames["class_balance"]),
    }
    worst = data.frames["images"].head(opts.thumbnails)
    return Report(data, figures, thumbnails(session, worst))


def _round_title(session: Session, round_id: int) -> str:
    row = session.get(m.Round, round_id)
    return f"round {row.name or round_id}" if row is not None else f"round {round_id}"


def thumbnails(session: Session, images: pd.DataFrame) -> dict[tuple[int, int], str]:
    """Overlay thumbnails of the given ``(round_id, image_id)`` rows: agreement green, disagreement red."""
    out: dict[tuple[int, int], str] = {}
    for round_id, part in images.groupby("round_id"):
        wanted = [int(i) for i in part["image_id"]]
        refs = latest_submissions(session, round_id=int(round_id), image_ids=wanted)
        segments = load_segments_of(session, submission_ids=[r.submission_id for r in refs])
        rows = session.execute(
            select(m.Image.id, m.Image.height, m.Image.width, m.Image.path).where(col(m.Image.id).in_(wanted))
        ).all()
        boxes = _flag_boxes(session, int(round_id), wanted)
        for image_id, height, width, path in rows:
            mine = {r.annotator_id: segments[r.submission_id] for r in refs if r.image_id == image_id}
            out[(int(round_id), int(image_id))] = overlay_png(
                mine, boxes.get(int(image_id), []), height=height, width=width, path=path
            )
    return out


def _flag_boxes(session: Session, round_id: int, image_ids: list[int]) -> dict[int, list[tuple[int, int, int, int]]]:
    f = m.Flag
    rows = session.execute(
        select(f.image_id, f.bbox_x, f.bbox_y, f.bbox_w, f.bbox_h).where(
            f.round_id == round_id, f.level == "image", col(f.image_id).in_(image_ids)
        )
    )
    out: dict[int, list[tuple[int, int, int, int]]] = {}
    for image_id, x, y, w, h in rows:
        if None not in (x, y, w, h):
            out.setdefault(int(image_id), []).append((int(x), int(y), int(w), int(h)))
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a template: NaN as None (the ``num`` filter shows an en dash)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{str(k): v for k, v in row.items()} for row in records]


def _pivot(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    """Rule x ``column`` violation rates as a header list and rows for the template."""
    if frame.empty or column not in frame or "rate" not in frame:
        return {"columns": [], "rows": []}
    table = frame.pivot_table(index="rule", columns=column, values="rate", aggfunc="first")
    columns = [str(c) for c in table.columns]
    rows = [{"rule": str(rule), "values": [_nan_none(v) for v in values]} for rule, values in table.iterrows()]
    return {"columns": columns, "rows": rows}


def _nan_none(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _context(report: Report) -> dict[str, Any]:
    frames, meta = report.data.frames, report.data.meta
    images = _records(frames["images"])
    for row in images:
        row["thumbnail"] = report.thumbnails.get((int(row["round_id"]), int(row["image_id"])), "")
    feedback = _records(frames["feedback"])
    return {
        "title": report.data.title,
        "meta": meta,
        "semantic": meta["task"] == "semantic",
        "headline": _records(frames["headline"])[0],
        "agreement": _records(frames["agreement"]),
        "annotators": _records(frames["annotators"]),
        "images": images,
        "compliance_annotator": _pivot(frames["compliance_annotator"], "annotator"),
        "compliance_class": _pivot(frames["compliance_class"], "class"),
        "reviewers": _records(frames["reviewers"]),
        "trends": _records(frames["trends"]),
        "balance": _records(frames["class_balance"]),
        "feedback": _group(feedback, "annotator"),
        "figures": report.figures,
    }


def _group(rows: list[dict[str, Any]], key: str) -> list[tuple[str, list[dict[str, Any]]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row[key]), []).append(row)
    return sorted(out.items())


def render_report(report: Report) -> str:
    """The whole report as one self-contained HTML page."""
    return render("report.html.j2", **_context(report))


def render_feedback(report: Report, *, annotator: str) -> str:
    """One annotator's flagged items with the reviewers' notes (an empty list says so)."""
    rows = [r for r in _records(report.data.frames["feedback"]) if r["annotator"] == annotator]
    return render("feedback.html.j2", title=report.data.title, annotator=annotator, rows=rows)


def write_tables(report: Report, folder: str | Path) -> list[Path]:
    """Every frame as ``<name>.csv`` and ``<name>.parquet`` in ``folder``; returns the paths written."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in report.data.frames.items():
        table = frame.reset_index() if name == "pairs" else frame
        table = table.rename(columns=str)
        for column in table.columns:
            if table[column].dtype == object:
                table[column] = table[column].map(lambda v: v if v is None or isinstance(v, str) else str(v))
        table.to_csv(target / f"{name}.csv", index=False)
        table.to_parquet(target / f"{name}.parquet", index=False)
        written += [target / f"{name}.csv", target / f"{name}.parquet"]
    return written


def write_report(
    session: Session,
    path: str | Path,
    *,
    round_id: int | None = None,
    project: str | None = None,
    tables: str | Path | None = None,
    annotator: str | None = None,
    options: ReportOptions | None = None,
) -> Path:
    """Build and write the report (or one ``annotator``'s feedback page) to ``path``; tables too when asked."""
    report = report_data(session, round_id=round_id, project=project, options=options)
    if tables is not None:
        write_tables(report, tables)
    text = render_feedback(report, annotator=annotator) if annotator else render_report(report)
    return write_text(path, text)


def feedback_names(report: Report) -> Sequence[str]:
    """Annotators with at least one flagged item."""
    return sorted(set(report.data.frames["feedback"]["annotator"]))
