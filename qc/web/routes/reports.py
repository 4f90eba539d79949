"""The manager's pages: the list of rounds and each round's summary (rendered by :mod:`reports`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from qc.store import models as m
from qc.store import review as store
from qc.store.api import get_row
from qc.web.deps import ReportReader, SessionDep, known_id
from qc.web.pages import page
from qc.web.security import policy_for_inline

__all__ = ["router"]

router = APIRouter()


@router.get("/reports")
def reports(request: Request, person: ReportReader, session: SessionDep) -> HTMLResponse:
    return page(request, "reports.html.j2", person=person, rounds=store.all_rounds(session))


@router.get("/rounds/{round_id}/summary")
def round_summary(request: Request, round_id: int, _person: ReportReader, session: SessionDep) -> HTMLResponse:
    get_row(session, m.Round, known_id(request, round_id, "round"))  # 404 for an unknown round
    from reports.summary import render_summary, summary_data  # the one report renderer

    html = render_summary(summary_data(session, round_id=round_id))  # self-contained: its style is inline
    return HTMLResponse(html, headers={"Content-Security-Policy": policy_for_inline(html)})
