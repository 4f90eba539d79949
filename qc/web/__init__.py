"""The reviewer web page (FastAPI + Jinja2): queue, item page with overlays, decisions, per-role access.

Start it with ``qc review serve``; build it in code with :func:`create_app`. The rooms:
:mod:`~qc.web.app` (the app, its middleware and error mapping), :mod:`~qc.web.deps` (session,
signed-in person, roles as ``Annotated`` dependencies), :mod:`~qc.web.security` (CSRF, login
throttle, safe image paths), :mod:`~qc.web.routes` (one router per resource) and
``templates/``. No SQL here: every read and write goes through :mod:`qc.review` and
:mod:`qc.store.review`.
"""

from qc.web.app import create_app

__all__ = ["create_app"]
