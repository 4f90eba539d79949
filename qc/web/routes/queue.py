"""The review queue page (filters, counts, reassignment for leads) and taking the next item."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qc import review
from qc.store import logins
from qc.store import review as store
from qc.web.deps import REVIEWERS, CsrfForm, Reviewer, SessionDep
from qc.web.pages import page

__all__ = ["router"]

router = APIRouter()


@router.get("/queue")
def queue(
    request: Request,
    person: Reviewer,
    session: SessionDep,
    kind: str = "",
    category: int | None = None,
    annotator: int | None = None,
) -> HTMLResponse:
    lead = "lead" in person.roles
    rows = review.queue_rows(session, flag_kind=kind or None, category_id=category, annotator_id=annotator)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    if not lead:
        rows = [r for r in rows if r.status == "pending" or r.claimed_by == person.id]
    people = logins.people_by_name(session)
    return page(
        request,
        "queue.html.j2",
        person=person,
        rows=rows,
        counts=counts,
        names=logins.person_names(session),
        kinds=store.flag_kinds(session),
        classes=store.class_choices(session),
        annotators=[p for p in people if "annotator" in p.roles],
        reviewers=[p for p in people if REVIEWERS & set(p.roles)],
        lead=lead,
        selected={"kind": kind, "category": category, "annotator": annotator},
    )


@router.post("/queue/next")
def next_item(request: Request, _csrf: CsrfForm, person: Reviewer, session: SessionDep) -> Response:
    held = review.claim(session, reviewer_id=person.id, lease_minutes=request.app.state.lease_minutes)
    return RedirectResponse(f"/items/{held.item_id}" if held else "/queue?empty=1", status_code=303)
