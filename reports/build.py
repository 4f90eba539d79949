"""The manager's report assembled: frames, figures and thumbnails, rendered to one self-contained HTML page.

:func:`build_report` reads the rounds once (:mod:`reports.load`) and computes every section
(:mod:`reports.sections`, :mod:`reports.mask_sections`) into :class:`ReportData`;
:func:`report_data` adds the figures (:mod:`reports.figures`) and thumbnails as a
:class:`Report`. :func:`render_report` and :func:`render_feedback` render to strings through
the one Jinja2 environment (:func:`qc.templating.environment`); writing is a separate step:
:func:`write_text`, :func:`write_tables` (every frame as CSV and Parquet) and
:func:`write_report` (build, render and write).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from sqlmodel import Session

from qc import templating
from qc.errors import FormatError, InvalidOptionError
from qc.guideline import Guideline
from qc.rounds import round_guideline
from qc.store import reports as store
from reports.figures import balance_svg, heatmap_svg, trend_svg
from reports.load import Tables, load_tables
from reports.mask_sections import class_balance_frame, compliance_frames, gold_frame, staple_frame, thumbnails
from reports.reliability_sections import pass_agreement_frame, paused_frame, reliability_frame
from reports.sections import (
    agreement_frame,
    annotator_frame,
    feedback_frame,
    headline_frame,
    image_frame,
    pair_matrix,
    rejection_frame,
    reviewer_frame,
    trend_frame,
)
from reports.time_section import time_frame

__all__ = [
    "Report",
    "ReportData",
    "ReportOptions",
    "build_report",
    "feedback_names",
    "render",
    "render_feedback",
    "render_report",
    "report_data",
    "reproducibility",
    "write_report",
    "write_tables",
    "write_text",
]


@dataclass(frozen=True)
class ReportOptions:
    """How much to compute: bootstrap draws and seed, and caps on the mask-reading sections."""

    resamples: int = 1000
    seed: int = 0
    thumbnails: int = 50
    staple_images: int = 200
    compliance_submissions: int = 2000

    def __post_init__(self) -> None:
        """Every count is a whole number >= 0 (``resamples=0``: no intervals; ``thumbnails=0``: no pictures)."""
        for name in ("resamples", "thumbnails", "staple_images", "compliance_submissions"):
            InvalidOptionError.check_count(name, getattr(self, name), 0)


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows: ``frames`` (section name -> frame) and plain ``meta`` values."""

    title: str
    frames: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "frames": {k: v.to_dict(orient="records") for k, v in self.frames.items()},
            "meta": self.meta,
        }


@dataclass(frozen=True)
class Report:
    """Report frames plus the figures (SVG text) and thumbnails (``image_id -> data URI``)."""

    data: ReportData
    figures: dict[str, str]
    thumbnails: dict[tuple[int, int], str]

    def to_dict(self) -> dict[str, Any]:
        return {**self.data.to_dict(), "figures": sorted(self.figures), "thumbnails": len(self.thumbnails)}


# --- building ----------------------------------------------------------------------------------------------

log = logging.getLogger(__name__)


def build_report(
    session: Session, *, round_ids: Sequence[int], title: str, options: ReportOptions | None = None
) -> ReportData:
    """Every section's frame for ``round_ids`` (one round, or a project's rounds)."""
    opts = options or ReportOptions()
    tables = load_tables(session, round_ids=round_ids)
    guideline = _guideline(session, tables)
    gold = gold_frame(session, tables)
    staple_rows = staple_frame(session, tables, max_images=opts.staple_images)
    frames = {
        "headline": headline_frame(tables),
        "agreement": agreement_frame(tables, resamples=opts.resamples, seed=opts.seed),
        "pass_agreement": pass_agreement_frame(tables, resamples=opts.resamples, seed=opts.seed),
        "reliability": reliability_frame(tables),
        "paused": paused_frame(tables),
        "annotators": annotator_frame(tables, gold, staple_rows),
        "pairs": pair_matrix(tables),
        "images": image_frame(tables),
        **compliance_frames(session, tables, guideline=guideline, max_submissions=opts.compliance_submissions),
        "reviewers": reviewer_frame(tables),
        "trends": trend_frame(tables),
        "class_balance": class_balance_frame(session, round_ids=round_ids, classes=tables.classes),
        "feedback": feedback_frame(tables),
        "rejections": rejection_frame(tables),
        "time": time_frame(tables),
    }
    meta = {
        "task": tables.task,
        "rounds": tables.rounds.to_dict(orient="records"),
        "thresholds": guideline.thresholds.model_dump() if guideline is not None else {},
        "reproducibility": reproducibility(session, tables),
        "options": {"resamples": opts.resamples, "seed": opts.seed, "thumbnails": opts.thumbnails},
    }
    log.info("report data for rounds %s: %d images", list(round_ids), len(frames["images"]))
    return ReportData(title, frames, meta)


def _guideline(session: Session, tables: Tables) -> Guideline | None:
    if tables.rounds.empty or tables.rounds["guideline_version_id"].isna().all():
        return None
    return round_guideline(session, round_id=int(tables.rounds["round_id"].iloc[-1]))


def reproducibility(session: Session, tables: Tables) -> dict[str, Any]:
    """Guideline versions and hashes, a digest of every latest submission's content hash, qc version, thresholds."""
    version_ids = {int(v) for v in tables.rounds["guideline_version_id"].dropna()}
    versions = [g._asdict() for g in store.guideline_hashes(session, version_ids=version_ids)]
    hashes = store.submission_hashes(session, round_ids=list(tables.rounds["round_id"]))
    return {
        "guidelines": versions,
        "submissions": len(hashes),
        "data_sha256": hashlib.sha256("\n".join(hashes).encode()).hexdigest(),
        "qc_version": _qc_version(),
    }


def _qc_version() -> str:
    try:
        return metadata.version("qc")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "unknown"


def report_data(
    session: Session,
    *,
    round_id: int | None = None,
    project: str | None = None,
    options: ReportOptions | None = None,
) -> Report:
    """Frames, figures and thumbnails of one round (``round_id``) or every round of ``project``."""
    opts = options or ReportOptions()
    round_ids = store.rounds_for(session, round_id=round_id, project=project)
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
    return f"round {store.round_name(session, round_id=round_id) or round_id}"


# --- rendering and writing -------------------------------------------------------------------------------


def render(template: str, **context: Any) -> str:
    """Render ``reports/templates/<template>`` with ``context`` (autoescaped, strict about missing names)."""
    return templating.environment("reports").get_template(template).render(**context)


def write_text(path: str | Path, text: str) -> Path:
    """Write a rendered page, creating its folder (:class:`~qc.errors.FormatError` naming it when it cannot)."""
    target = Path(path)
    _refuse_folder(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FormatError(
            f"cannot write the page ({exc.strerror}); give a file in a writable folder (-o report.html)",
            path=str(target),
        ) from exc
    return target


def _refuse_folder(target: Path) -> None:
    """A page goes to a file: ``-o reports/`` (or ``-o ""``, the working folder) is refused before any work."""
    if target.is_dir():
        raise FormatError("is a folder; the page needs a file name (e.g. -o report.html)", path=str(target))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a template: NaN as None (the ``num`` filter shows an en dash)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{str(k): v for k, v in row.items()} for row in records]


def _pivot(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    """Rule x ``column`` cells for the template: header list, rows of ``{"rate", "flagged", "items"}`` cells.

    A recomputed frame (:func:`qc.checks.summarise`) gives each cell its rate and the counts behind
    it ("3 of 240"), so that 0.01 of 300 items and 0.33 of 3 read differently. A frame counted from
    the stored flags (too many submissions to recompute, or no guideline) has violation counts
    only: ``counted`` says so, and its cells carry ``flagged`` alone.
    """
    counted = "rate" not in frame
    if frame.empty or column not in frame:
        return {"columns": [], "rows": [], "counted": counted}
    values = ["violations"] if counted else ["rate", "flagged", "items"]
    if any(name not in frame for name in values):
        return {"columns": [], "rows": [], "counted": counted}
    table = frame.pivot_table(index="rule", columns=column, values=values, aggfunc="first")
    names = table.columns.get_level_values(1).unique()
    columns = [str(c) for c in names]
    rows = []
    for rule, row in table.iterrows():
        cells = []
        for name in names:
            if counted:
                flagged = _nan_none(row[("violations", name)])
                cells.append({"rate": None, "flagged": None if flagged is None else int(flagged), "items": None})
            else:
                items = _nan_none(row[("items", name)])
                cells.append(
                    {
                        "rate": _nan_none(row[("rate", name)]),
                        "flagged": None if items is None else int(row[("flagged", name)]),
                        "items": None if items is None else int(items),
                    }
                )
        rows.append({"rule": str(rule), "values": cells})
    return {"columns": columns, "rows": rows, "counted": counted}


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
        "pass_agreement": _records(frames["pass_agreement"]),
        "reliability": _group(_records(frames["reliability"]), "scope", keep_order=True),
        "paused": _records(frames["paused"]),
        "annotators": _records(frames["annotators"]),
        "images": images,
        "compliance_annotator": _pivot(frames["compliance_annotator"], "annotator"),
        "compliance_class": _pivot(frames["compliance_class"], "class"),
        "reviewers": _records(frames["reviewers"]),
        "trends": _records(frames["trends"]),
        "balance": _records(frames["class_balance"]),
        "feedback": _group(feedback, "annotator"),
        "rejections": _records(frames["rejections"]),
        "time": _records(frames["time"]),
        "figures": report.figures,
    }


def _group(rows: list[dict[str, Any]], key: str, *, keep_order: bool = False) -> list[tuple[str, list[dict[str, Any]]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row[key]), []).append(row)
    return list(out.items()) if keep_order else sorted(out.items())


def render_report(report: Report) -> str:
    """The whole report as one self-contained HTML page."""
    return render("report.html.j2", **_context(report))


def render_feedback(report: Report, *, annotator: str) -> str:
    """One annotator's flagged items with the reviewers' notes (an empty list says so)."""
    rows = [r for r in _records(report.data.frames["feedback"]) if r["annotator"] == annotator]
    own = [r for r in _records(report.data.frames["reliability"]) if r["annotator"] == annotator]
    return render("feedback.html.j2", title=report.data.title, annotator=annotator, rows=rows, reliability=own)


def write_tables(report: Report, folder: str | Path) -> list[Path]:
    """Every frame as ``<name>.csv`` and ``<name>.parquet`` in ``folder``; returns the paths written."""
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FormatError(
            f"cannot make the tables' folder ({exc.strerror}); --tables takes a folder, not a file",
            path=str(target),
        ) from exc
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
    """Build and write the report (or one ``annotator``'s feedback page) to ``path``; tables too when asked.

    A ``path`` that is a folder, or ``tables`` that is a file, is a :class:`~qc.errors.FormatError` naming it.
    """
    _refuse_folder(Path(path))
    if tables is not None and Path(tables).exists() and not Path(tables).is_dir():
        raise FormatError("is a file; --tables takes a folder to write the CSV and Parquet files in", path=str(tables))
    report = report_data(session, round_id=round_id, project=project, options=options)
    if tables is not None:
        write_tables(report, tables)
    text = render_feedback(report, annotator=annotator) if annotator else render_report(report)
    return write_text(path, text)


def feedback_names(report: Report) -> Sequence[str]:
    """Annotators with at least one flagged item."""
    return sorted(set(report.data.frames["feedback"]["annotator"]))
