"""Transitional: the old import path of :class:`reports.build.ReportOptions` for ``flows/`` and ``reports/cli.py``.

Delete at merge, once those callers import from :mod:`reports.build` (issue 12).
"""

from reports.build import ReportOptions

__all__ = ["ReportOptions"]
