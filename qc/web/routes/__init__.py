"""The routes of the review page, one ``APIRouter`` per resource.

``auth`` (log in and out, the home redirect), ``queue`` (the queue page, take the next item),
``items`` (an item's page, overlays, image, decide, reassign), ``disputes`` (an item's disputes
as JSON, their resolution), ``reports`` (rounds and their
summaries) and ``feedback`` (an annotator's rework feedback).
"""

from qc.web.routes import auth, disputes, feedback, items, queue, reports

ROUTERS = (auth.router, queue.router, items.router, disputes.router, reports.router, feedback.router)

__all__ = ["ROUTERS", "auth", "disputes", "feedback", "items", "queue", "reports"]
