"""Transitional: the old import paths of :mod:`reports.build` for ``flows/`` and ``reports/cli.py``.

Delete at merge, once those callers import from :mod:`reports.build` (issue 12).
"""

from reports.build import render_report, report_data, write_report

__all__ = ["render_report", "report_data", "write_report"]
