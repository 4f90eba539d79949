"""The report's sections that read segment rows from the store, each bounded by a cap.

Class balance (areas of the consensus, or of the submissions when there is none), STAPLE
sensitivity and specificity, agreement with gold answers, guideline compliance recomputed
from the stored segments, and the overlay thumbnails of the worst images. Segments are read
through :mod:`qc.store.segments` only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session

from qc import masks
from qc.checks import check_submission, compliance_frame, summarise, violation_records
from qc.consensus import staple
from qc.core import Segment
from qc.guideline import Guideline
from qc.metrics import mask_iou
from qc.store import reports as store
from qc.store.ingest import latest_submissions
from qc.store.segments import (
    CategoryArea,
    consensus_areas,
    load_gold_segments,
    load_segments_of,
    submission_areas,
)
from reports.figures import overlay_png
from reports.load import Tables, frame

__all__ = ["class_balance_frame", "compliance_frames", "gold_frame", "staple_frame", "thumbnails"]


def class_balance_frame(session: Session, *, round_ids: Sequence[int], classes: dict[int, str]) -> pd.DataFrame:
    """Per class: instance count and pixel share of the consensus (of the latest submissions when none)."""
    rows = consensus_areas(session, round_ids=round_ids)
    source = "consensus"
    if not rows:
        source = "submissions"
        rows = submission_areas(session, round_ids=round_ids)
    out = frame(rows, CategoryArea).groupby("category_id")["area"].agg(instances="size", pixels="sum").reset_index()
    out["class"] = [classes.get(int(k), str(k)) for k in out["category_id"]]
    total = out["pixels"].sum()
    out["pixel_share"] = out["pixels"] / total if total else math.nan
    out["source"] = source
    return out[["class", "category_id", "instances", "pixels", "pixel_share", "source"]]


def _latest_by_image(session: Session, round_ids: Sequence[int]) -> dict[tuple[int, int], dict[int, int]]:
    """``(round, image) -> {annotator: submission id}`` of the latest submissions."""
    out: dict[tuple[int, int], dict[int, int]] = {}
    for round_id in round_ids:
        for ref in latest_submissions(session, round_id=round_id):
            out.setdefault((round_id, ref.image_id), {})[ref.annotator_id] = ref.submission_id
    return out


def staple_frame(session: Session, tables: Tables, *, max_images: int = 200) -> pd.DataFrame:
    """Mean STAPLE sensitivity/specificity per annotator, over (image, class) with >= 3 annotators.

    Each annotator's segments of a class are merged into one mask and STAPLE runs over the
    k masks (a class nobody drew is skipped). At most ``max_images`` images are read (worst first
    is not needed here: they are the first ones by id).
    """
    latest = {key: subs for key, subs in _latest_by_image(session, list(tables.rounds["round_id"])).items()}
    chosen = [key for key in sorted(latest) if len(latest[key]) >= 3][:max_images]
    segments = load_segments_of(session, submission_ids=[s for key in chosen for s in latest[key].values()])
    values: dict[int, list[tuple[float, float]]] = {}
    for key in chosen:
        by_annotator = {a: segments[sid] for a, sid in latest[key].items()}
        for annotator, sens, spec in _staple_image(by_annotator):
            values.setdefault(annotator, []).append((sens, spec))
    rows = [
        {
            "annotator_id": a,
            "staple_sensitivity": float(np.nanmean([v[0] for v in vs])) if vs else math.nan,
            "staple_specificity": float(np.nanmean([v[1] for v in vs])) if vs else math.nan,
            "staple_groups": len(vs),
        }
        for a, vs in values.items()
    ]
    return pd.DataFrame(rows, columns=["annotator_id", "staple_sensitivity", "staple_specificity", "staple_groups"])


def _staple_image(by_annotator: dict[int, list[Segment]]) -> list[tuple[int, float, float]]:
    sizes = {s.size for segs in by_annotator.values() for s in segs}
    if len(sizes) != 1:
        return []
    height, width = sizes.pop()
    out: list[tuple[int, float, float]] = []
    categories = sorted({s.category_id for segs in by_annotator.values() for s in segs})
    people = sorted(by_annotator)
    for category in categories:
        rles = [
            masks.merge([s.rle for s in by_annotator[a] if s.category_id == category])
            if any(s.category_id == category for s in by_annotator[a])
            else masks.empty(height, width)
            for a in people
        ]
        result = staple(rles)
        out.extend(zip(people, result.sensitivity, result.specificity, strict=True))
    return out


def gold_frame(session: Session, tables: Tables) -> pd.DataFrame:
    """Per annotator: mean IoU of all their pixels vs the gold answer's, over their gold images."""
    gold_images = tables.assignments.loc[
        (tables.assignments["kind"] == "gold") & tables.assignments["round_id"].isin(tables.rounds["round_id"]),
        ["round_id", "image_id"],
    ].drop_duplicates()
    latest = _latest_by_image(session, sorted(set(gold_images["round_id"])))
    values: dict[int, list[float]] = {}
    for round_id, image_id in gold_images.itertuples(index=False):
        gold = load_gold_segments(session, image_ids=[int(image_id)]).get(int(image_id), [])
        subs = latest.get((int(round_id), int(image_id)), {})
        if not gold or not subs:
            continue
        truth = masks.merge([s.rle for s in gold])
        loaded = load_segments_of(session, submission_ids=subs.values())
        for annotator, sid in subs.items():
            drawn = loaded[sid]
            mask = masks.merge([s.rle for s in drawn]) if drawn else masks.empty(*masks.image_size(truth))
            values.setdefault(annotator, []).append(mask_iou(mask, truth))
    rows = [{"annotator_id": a, "gold_iou": float(np.nanmean(v)), "gold_images": len(v)} for a, v in values.items()]
    return pd.DataFrame(rows, columns=["annotator_id", "gold_iou", "gold_images"])


def compliance_frames(
    session: Session, tables: Tables, *, guideline: Guideline | None, max_submissions: int = 2000
) -> dict[str, pd.DataFrame]:
    """Rule x annotator and rule x class violation rates, recomputed from stored segments.

    Beyond ``max_submissions`` (or without a guideline), the stored ``guideline`` flags are
    counted instead (rule taken from the message, per annotator only; classes say n/a).
    """
    latest = _latest_by_image(session, list(tables.rounds["round_id"]))
    total = sum(len(v) for v in latest.values())
    if guideline is None or total > max_submissions:
        return _compliance_from_flags(tables)
    sizes = dict(
        zip(tables.images["image_id"], zip(tables.images["height"], tables.images["width"], strict=True), strict=True)
    )
    segments = load_segments_of(session, submission_ids=[s for v in latest.values() for s in v.values()])
    records: list[dict[str, Any]] = []
    for (_, image_id), subs in sorted(latest.items()):
        height, width = sizes[image_id]
        for annotator, sid in sorted(subs.items()):
            found = check_submission(segments[sid], height=int(height), width=int(width), guideline=guideline)
            name = tables.people.get(annotator, str(annotator))
            records += violation_records(segments[sid], found, annotator=name, image_id=image_id, guideline=guideline)
    frame = compliance_frame(records)
    return {
        "compliance_annotator": summarise(frame, by=("rule", "annotator")),
        "compliance_class": summarise(frame, by=("rule", "class")),
    }


def _compliance_from_flags(tables: Tables) -> dict[str, pd.DataFrame]:
    flags = tables.flags[tables.flags["kind"] == "guideline"].explode("annotators")
    rule = [str(msg).split(": ")[1] if str(msg).count(": ") >= 2 else "guideline" for msg in flags["message"]]
    frame = pd.DataFrame({"rule": rule, "annotator": [tables.people.get(a, str(a)) for a in flags["annotators"]]})
    by_annotator = frame.groupby(["rule", "annotator"]).size().rename("violations").reset_index()
    return {"compliance_annotator": by_annotator, "compliance_class": pd.DataFrame(columns=["rule", "class"])}


def thumbnails(session: Session, images: pd.DataFrame) -> dict[tuple[int, int], str]:
    """Overlay thumbnails of the given ``(round_id, image_id)`` rows: agreement green, disagreement red."""
    out: dict[tuple[int, int], str] = {}
    for round_id, part in images.groupby("round_id"):
        wanted = [int(i) for i in part["image_id"]]
        refs = latest_submissions(session, round_id=int(round_id), image_ids=wanted)
        segments = load_segments_of(session, submission_ids=[r.submission_id for r in refs])
        boxes = store.flag_boxes(session, round_id=int(round_id), image_ids=wanted)
        for image_id, height, width, path in store.image_sizes(session, image_ids=wanted):
            mine = {r.annotator_id: segments[r.submission_id] for r in refs if r.image_id == image_id}
            out[(int(round_id), int(image_id))] = overlay_png(
                mine, boxes.get(int(image_id), []), height=height, width=width, path=path
            )
    return out
