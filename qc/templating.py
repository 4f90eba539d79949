"""The one Jinja2 environment factory: every page (:mod:`qc.web`) and report (:mod:`reports`) renders through it.

Each environment is autoescaped (every user-supplied text comes out escaped, DESIGN §8),
``StrictUndefined`` (a name missing from the context is an error, not an empty string),
trims block whitespace, and has the filter ``num`` (numbers for tables: NaN and ``None`` as
an en dash, floats to 3 decimals). Rendering returns a string; writing it is the caller's step.

>>> environment("reports") is environment("reports")
True
>>> environment("reports").from_string("{{ name }} {{ x | num }} {{ y | num(1) }}").render(name="<b>", x=None, y=0.25)
'&lt;b&gt; – 0.2'
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["environment", "number"]


@cache
def environment(package: str) -> Environment:
    """The environment of the templates in ``<package>/templates`` (built once per package)."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = number
    return env


def number(value: Any, digits: int = 3) -> str:
    """A number for a table: NaN and ``None`` as an en dash.

    >>> number(float("nan")), number(2), number(1 / 3)
    ('–', '2', '0.333')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
