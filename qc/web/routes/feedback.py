"""An annotator's page: the rework feedback reviewers wrote to them, and their own measured reliability."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from qc import review
from qc.store.reliability import own_reliability
from qc.web.deps import Annotator, SessionDep
from qc.web.pages import page

__all__ = ["router"]

router = APIRouter()


@router.get("/feedback")
def feedback(request: Request, person: Annotator, session: SessionDep) -> HTMLResponse:
    rows = review.feedback_for(session, annotator_id=person.id)
    reliability = own_reliability(session, person_id=person.id)
    return page(request, "feedback.html.j2", person=person, rows=rows, reliability=reliability)
