"""Disputes of the images in review: found from the image's current submissions and stored per review item.

:func:`build_disputes` scores each image again exactly as :mod:`qc.rounds._scoring` did (same
guideline, checks and agreement; pure and deterministic, so the groups are the stored ones),
turns its image-level findings into disputes (:func:`qc.disputes.find_disputes`) and stores them.
:func:`qc.rounds.close_round` calls it for the items it queues, the scoring of a re-delivery for
the item it re-opens, and migration ``0005`` for the items already in the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from qc import masks
from qc.disputes import DisputeSpec, find_disputes
from qc.errors import NotFoundError
from qc.rounds._scoring import _BatchInputs, _compute, _RoundContext
from qc.store import disputes as store
from qc.store.results import input_hash
from qc.store.segments import consensus_segments

__all__ = ["build_disputes"]

log = logging.getLogger(__name__)


def backfill_disputes(session: Session) -> dict[int, int]:
    """Disputes for every open review item that has none (items queued before migration 0005; run by
    ``qc db upgrade`` after the migrations). Returns ``item id -> number of disputes`` as :func:`build_disputes`."""
    out: dict[int, int] = {}
    for round_id in store.rounds_needing_disputes(session):
        out.update(build_disputes(session, round_id=round_id))
    return out


def build_disputes(
    session: Session, *, round_id: int, image_ids: Iterable[int] | None = None, rebuild: bool = False
) -> dict[int, int]:
    """Store the disputes of the round's open review items that have none (all of them with ``rebuild``).

    ``image_ids`` limits the items to those images. Returns ``item id -> number of disputes``.
    An image whose submissions are incomplete (a delivery waits) keeps no dispute until it is scored;
    a round without a guideline version (data built by hand) gets none (logged).
    """
    items = store.items_needing_disputes(session, round_id=round_id, image_ids=image_ids, rebuild=rebuild)
    if not items:
        return {}
    try:
        context = _RoundContext.load(session, round_id)
    except NotFoundError as exc:  # a round made without a guideline (hand-built data): nothing to score again
        log.warning("round %s: no disputes for its %s review items: %s", round_id, len(items), exc)
        return {}
    batch = _BatchInputs.load(session, context, [image for _, image in items])
    ids = {name: person for person, name in context.names.items()}
    out = {}
    for item_id, image_id in items:
        inputs = batch.inputs[image_id]
        if not inputs.complete or not inputs.submissions:
            log.info("review item %s: image %s is not complete; its disputes wait for the delivery", item_id, image_id)
            continue
        by_name = {context.names[s.annotator_id]: batch.segments[s.submission_id] for s in inputs.submissions}
        digest = input_hash(inputs, guideline_hash=context.guideline.text_hash)
        scored = _compute(context, inputs, by_name, batch.gold.get(image_id), digest)
        people = [context.names[a] for a in sorted(set(inputs.assigned) | {s.annotator_id for s in inputs.submissions})]
        specs = find_disputes(scored.agreement, scored.assessment, by_name, annotators=people)
        submissions = {context.names[s.annotator_id]: s.submission_id for s in inputs.submissions}
        stored = {s.rle["counts"]: int(s.id) for s in consensus_segments(session, round_id=round_id, image_id=image_id)}
        rows = [_row(spec, ids, submissions, stored, (inputs.height, inputs.width)) for spec in specs]
        out[item_id] = store.replace_disputes(session, item_id=item_id, rows=rows)
    return out


def _row(
    spec: DisputeSpec,
    ids: dict[str, int],
    submissions: dict[str, int],
    stored: dict[str, int],
    size: tuple[int, int],
) -> dict[str, Any]:
    versions = [
        {
            "person_id": ids[v.annotator],
            "submission_id": submissions.get(v.annotator),
            "segment_id": None if v.segment_id is None else int(v.segment_id),
            "category_id": v.category_id,
            "iou_to_fused": v.iou_to_fused,
        }
        for v in spec.versions
    ]
    x, y, w, h = spec.bbox
    return {
        "number": spec.index,
        "kind": spec.kind,
        "reason": spec.reason,
        "category_id": spec.category_id,
        "bbox_x": x,
        "bbox_y": y,
        "bbox_w": w,
        "bbox_h": h,
        "height": size[0],
        "width": size[1],
        "fused_counts": None if spec.fused is None else masks.as_rle(spec.fused)["counts"],
        "versions": versions,
        "pairwise": [[ids[a], ids[b], None if iou != iou else iou] for a, b, iou in spec.pairwise],
        "replaces_segment_id": None if spec.replaces is None else stored.get(masks.as_rle(spec.replaces)["counts"]),
    }
