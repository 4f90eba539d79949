"""One review item: its page, overlay PNGs and image file, the decision form and a lead's reassignment.

Overlays are PNGs rendered from RLE (:mod:`qc.render`) and cached per (item, version, layer):
layers ``a1``, ``a2`` ... (the outlines of annotator N as the legend, the crops and the keys number them:
:func:`qc.review.views.item_annotators`, one ordered list; empty for one who has not delivered), ``consensus`` (its
outlines) and ``disagreement`` (filled). The page itself carries its disputes as JSON
(:mod:`qc.web.routes.disputes`), from which it draws the fused candidates and the focus crops.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from qc import render, review
from qc.errors import NotFoundError
from qc.store import db, logins
from qc.store import review as store
from qc.web.deps import REVIEWERS, CsrfForm, Lead, Reviewer, SessionDep, VisibleItem, id_field, item_version, known_id
from qc.web.pages import page
from qc.web.routes.disputes import colour, workbench_data
from qc.web.security import check_csrf, safe_image_path

__all__ = ["Overlay", "overlay_cache", "router"]

router = APIRouter()

Overlay = Callable[[int, int, str], bytes]
"""``overlay(item_id, version, layer)``: the PNG of one layer."""


@router.get("/items/{item_id}")
def item_page(
    request: Request, item_id: int, _item: VisibleItem, person: Reviewer, session: SessionDep
) -> HTMLResponse:
    view = review.item_view(session, item_id)
    data = workbench_data(session, view, person.id)
    findings = review.feedback_by_annotator(session, item_id, person.id)
    return page(
        request,
        "item.html.j2",
        person=person,
        view=view,
        data=data,
        colours={a.number: colour(a.number) for a in view.annotators},
        findings=findings,
        has_file=bool(store.image_path(session, image_id=view.image.id)),
        lead="lead" in person.roles,
        reviewers=[p for p in logins.people_by_name(session) if REVIEWERS & set(p.roles)],
        consensus_colour=render.hex_colour(render.CONSENSUS_COLOUR),
    )


@router.get("/items/{item_id}/overlay/{layer}.png")
def overlay_png(request: Request, item_id: int, layer: str, item: VisibleItem) -> Response:
    data = request.app.state.overlay(item_id, item.version, layer)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/items/{item_id}/image")
def image_file(request: Request, item: VisibleItem, session: SessionDep) -> Response:
    stored = store.image_path(session, image_id=item.image_id)
    return FileResponse(safe_image_path(request.app.state.image_root, stored))


async def _decision_form(request: Request) -> dict[str, str]:
    """The decision form's fields (``feedback_<annotator id>`` fields vary per item), CSRF checked."""
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    check_csrf(request, fields.get("csrf"))
    return fields


@router.post("/items/{item_id}/decide")
def decide(
    request: Request,
    item_id: int,
    fields: Annotated[dict[str, str], Depends(_decision_form)],
    _item: VisibleItem,
    person: Reviewer,
    session: SessionDep,
) -> Response:
    feedback = {
        id_field(request, k.removeprefix("feedback_"), k, "annotator"): v
        for k, v in fields.items()
        if k.startswith("feedback_") and v.strip()
    }
    given = fields.get("submission_id")
    target = id_field(request, given, "submission_id", "submission") if given else None
    version = item_version(request, fields.get("version", ""))
    kind, note = fields.get("kind", ""), fields.get("note", "")
    review.decide(
        session,
        item_id,
        reviewer_id=person.id,
        version=version,
        kind=kind,
        note=note,
        feedback=feedback,
        submission_id=target,
    )
    session.commit()  # the decision is stored before the close of its round may start
    review.on_round_reviewed(request.app.state.engine, item_id, request.app.state.on_round_reviewed)
    return RedirectResponse(f"/queue?decided={item_id}", status_code=303)


@router.post("/items/{item_id}/reassign")
def reassign(
    request: Request, item_id: int, _csrf: CsrfForm, person: Lead, session: SessionDep, to: Annotated[int, Form()]
) -> Response:
    lease = request.app.state.lease_minutes
    item, reviewer = known_id(request, item_id, "review item"), known_id(request, to, "person")
    review.reassign(session, item, lead_id=person.id, to_person_id=reviewer, lease_minutes=lease)
    return RedirectResponse("/queue", status_code=303)


def overlay_cache(engine: Engine) -> Overlay:
    """The overlay renderer of one app, caching the last 256 PNGs by (item, version, layer)."""

    @lru_cache(maxsize=256)
    def overlay(item_id: int, version: int, layer: str) -> bytes:
        with db.session_scope(engine, write=False) as session:
            layers = review.item_layers(session, item_id)
        return _render_layer(layers, layer)

    return overlay


def _render_layer(layers: review.ItemLayers, layer: str) -> bytes:
    size = {"height": layers.height, "width": layers.width}
    if layer == "consensus":
        return render.outline_png(layers.consensus, colour=render.CONSENSUS_COLOUR, **size)
    if layer == "disagreement":
        delivered = [masks for masks, given in zip(layers.annotators, layers.delivered, strict=True) if given]
        return render.disagreement_png(delivered, colour=render.DISAGREEMENT_COLOUR, **size)
    count = len(layers.annotators)
    if layer.startswith("a") and layer[1:].isdigit() and 1 <= int(layer[1:]) <= count:
        number = int(layer[1:])
        rgb = render.PALETTE[(number - 1) % len(render.PALETTE)]
        return render.outline_png(layers.annotators[number - 1], colour=rgb, **size)
    raise NotFoundError(f"no overlay layer {layer!r}: use a1..a{count}, consensus or disagreement")
