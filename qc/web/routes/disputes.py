"""The disputes of one review item as the workbench page needs them, and their resolution.

``GET /items/{id}/disputes`` answers the same JSON the item page carries inline (so moving
between disputes needs no request): the annotators with their number and colour, the
guideline classes, and one entry per dispute with its box, every annotator's version (COCO
RLE, ``null`` when they did not draw it), the fused candidate and the IoU between versions.
``POST /items/{id}/resolve`` takes ``{"csrf", "version", "resolutions": {dispute id: {"kind",
"person_id", "category_id", "note"}}}`` and calls :func:`qc.review.resolve`; a library error
(a stale version, a dispute another reviewer resolved) answers its status with
``{"detail": message}`` when the request asks for JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from qc import render, review
from qc.errors import InvalidOptionError
from qc.store import models as m
from qc.store import review as store
from qc.store.api import get_row
from qc.web.deps import Reviewer, SessionDep, VisibleItem, id_field, item_version, whole_number
from qc.web.security import check_csrf

__all__ = ["colour", "router", "workbench_data"]

router = APIRouter()


def workbench_data(session: Session, view: review.ItemView, viewer_id: int) -> dict[str, Any]:
    """The item's annotators (number, name, colour), guideline classes and disputes, as plain JSON data.

    ``viewer_id`` must be allowed to read the disputes (:func:`qc.review.dispute_views`).
    """
    numbers = {a.id: a.number for a in view.annotators}
    project_id = get_row(session, m.Image, view.image.id).project_id
    classes = store.class_names(session, project_id=project_id)
    disputes = review.dispute_views(session, view.item.id, viewer_id)
    return {
        "item": view.item.id,
        "version": view.item.version,
        "width": view.image.width,
        "height": view.image.height,
        "annotators": [
            {"number": a.number, "id": a.id, "name": a.name, "colour": colour(a.number)} for a in view.annotators
        ],
        "classes": [{"id": k, "name": v} for k, v in sorted(classes.items())],
        "disputes": [_dispute(d, numbers) for d in disputes],
    }


def colour(number: int) -> str:
    """The CSS colour of annotator ``number`` (1..), the same on every layer, crop and legend."""
    return render.hex_colour(render.PALETTE[(number - 1) % len(render.PALETTE)])


def _dispute(d: review.DisputeView, numbers: Mapping[int, int]) -> dict[str, Any]:
    return {
        "id": d.id,
        "index": d.index,
        "kind": d.kind,
        "reason": d.reason,
        "category": d.category,
        "bbox": list(d.bbox),
        "versions": [
            {
                "person_id": v.person_id,
                "number": numbers.get(v.person_id),
                "annotator": v.annotator,
                "category": v.category,
                "rle": _plain_rle(v.rle),
                "iou_to_fused": v.iou_to_fused,
            }
            for v in d.versions
        ],
        "fused": _plain_rle(d.fused_rle),
        "pairwise": [[a, b, None if math.isnan(iou) else iou] for a, b, iou in d.pairwise_iou],
        "resolution": _resolution_text(d.resolution),
    }


def _plain_rle(rle: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if rle is None:
        return None
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.decode() if isinstance(counts, bytes) else counts}


def _resolution_text(resolution: review.DisputeResolution | None) -> str | None:
    """A stored resolution in a few words ("take ann by rita"), ``None`` while the dispute is open."""
    if resolution is None:
        return None
    what = {"take": resolution.person, "rework": resolution.person, "set_class": resolution.category}.get(
        resolution.kind
    )
    text = f"{resolution.kind} {what}" if what else resolution.kind
    text += f" ({resolution.note})" if resolution.note else ""
    return f"{text} by {resolution.reviewer}" if resolution.reviewer else text


@router.get("/items/{item_id}/disputes")
def disputes_json(item_id: int, _item: VisibleItem, person: Reviewer, session: SessionDep) -> JSONResponse:
    view = review.item_view(session, item_id)
    return JSONResponse(workbench_data(session, view, person.id))


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, CSRF checked first (``csrf`` field, as the forms carry it)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise InvalidOptionError("body", "a JSON object", "text that is not JSON") from exc
    if not isinstance(body, dict):
        raise InvalidOptionError("body", "a JSON object", type(body).__name__)
    check_csrf(request, body.get("csrf") if isinstance(body.get("csrf"), str) else None)
    return body


@router.post("/items/{item_id}/resolve")
def resolve(
    request: Request,
    item_id: int,
    body: Annotated[dict[str, Any], Depends(_json_body)],
    _item: VisibleItem,
    person: Reviewer,
    session: SessionDep,
) -> JSONResponse:
    version = item_version(request, body.get("version"))
    given = body.get("resolutions")
    if not isinstance(given, dict) or not given:
        raise InvalidOptionError("resolutions", "an object {dispute id: resolution} with one entry or more", given)
    resolutions = {id_field(request, k, "resolutions", "dispute"): _resolution(request, k, v) for k, v in given.items()}
    review.resolve(session, item_id, person.id, version, resolutions)
    session.commit()  # stored before the close of its round may start
    review.on_round_reviewed(request.app.state.engine, item_id, request.app.state.on_round_reviewed)
    return JSONResponse({"decided": item_id, "redirect": f"/queue?decided={item_id}"})


def _resolution(request: Request, key: str, value: object) -> review.Resolution:
    field = f"resolutions.{key}"
    if not isinstance(value, dict):
        raise InvalidOptionError(field, 'an object {"kind": ...}', value)
    kind = value.get("kind")
    if kind not in review.RESOLUTION_KINDS:
        raise InvalidOptionError(f"{field}.kind", review.RESOLUTION_KINDS, kind)
    person = value.get("person_id")
    category = value.get("category_id")
    note = value.get("note", "")
    if not isinstance(note, str):
        raise InvalidOptionError(f"{field}.note", "text", note)
    return review.Resolution(
        kind=str(kind),
        person_id=None if person is None else id_field(request, person, f"{field}.person_id", "person"),
        category_id=None if category is None else whole_number(category, f"{field}.category_id"),
        note=note,
    )
