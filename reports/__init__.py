"""The manager's report (DESIGN §3): one read of the rounds, pure sections, figures, one HTML page.

- :mod:`reports.load`: :class:`Tables`, every row of the report's rounds read once (through
  :mod:`qc.store.reports`);
- :mod:`reports.stats`: the bootstrap and other pure statistics;
- :mod:`reports.sections`: one pure function per section, frames in and out;
- :mod:`reports.mask_sections`: the few sections that read segments (class balance, STAPLE,
  gold, compliance, thumbnails), each bounded;
- :mod:`reports.figures`: charts as inline SVG and overlay thumbnails as PNG data URIs;
- :mod:`reports.build`: :class:`ReportOptions`, :class:`ReportData`, :func:`build_report`,
  :func:`report_data`, rendering through ``templates/`` and writing (HTML, CSV, Parquet);
- :mod:`reports.summary`: the round summary page the web app serves.
"""

from reports.build import (
    Report,
    ReportData,
    ReportOptions,
    build_report,
    render_feedback,
    render_report,
    report_data,
    write_report,
    write_tables,
)
from reports.load import Tables, load_tables
from reports.stats import bootstrap_ratio
from reports.summary import render_summary, summary_data

__all__ = [
    "Report",
    "ReportData",
    "ReportOptions",
    "Tables",
    "bootstrap_ratio",
    "build_report",
    "load_tables",
    "render_feedback",
    "render_report",
    "render_summary",
    "report_data",
    "summary_data",
    "write_report",
    "write_tables",
]
