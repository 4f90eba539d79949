"""Rendering the reports through the one Jinja2 environment factory (:mod:`qc.templating`).

Rendering returns a string; writing it to a file is a separate step (:func:`write_text`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment

from qc import templating


def environment() -> Environment:
    """The reports' environment (:func:`qc.templating.environment`)."""
    return templating.environment("reports")


def render(template: str, **context: Any) -> str:
    """Render ``reports/templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)


def write_text(path: str | Path, text: str) -> Path:
    """Write a rendered page, creating its folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
