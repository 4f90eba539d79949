"""Pages render to strings through the one Jinja2 environment (:func:`qc.templating.environment`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from qc import templating
from qc.web.security import csrf_token

__all__ = ["page"]


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` rendered with the session's CSRF token and the signed-in person (or ``None``)."""
    person = context.pop("person", None)
    template = templating.environment("qc.web").get_template(name)
    return HTMLResponse(template.render(csrf=csrf_token(request), person=person, **context), status_code=status_code)
