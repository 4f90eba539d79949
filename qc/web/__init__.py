"""The reviewer web page (FastAPI + Jinja2): queue, item page with overlays, decisions, per-role access.

Start it with ``qc review serve``; build it in code with :func:`create_app`.
"""

from qc.web.app import create_app

__all__ = ["create_app"]
