"""Issue 13 item 7 on the review page: an annotator whose latest delivery of the item's image lost annotations is
shown with what was rejected (item view data and the rendered page, escaped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from bench.review_data import build_round
from qc import masks, review
from qc.core import ImageInfo, Segment
from qc.formats._base import ParsedAnnotations, Rejection
from qc.store.db import session_scope
from qc.store.ingest import ingest_file
from tests.web.client import login, make_site


def deliver_incomplete(engine: Engine, round_id: int, annotator_id: int) -> None:
    """ann2 re-delivers img0000.png with one box kept and one annotation refused (its class is unknown)."""
    mask = np.zeros((48, 64), bool)
    mask[5:20, 5:20] = True
    refused = Rejection("ann2.json", 1, 7, "category_id", "category id 9 is not a class <script>x</script>")
    parsed = ParsedAnnotations(
        "ann2.json",
        "coco",
        {1: ImageInfo(1, "img0000.png", 48, 64)},
        [(1, Segment(1, 1, masks.encode(mask)))],
        [refused],
    )
    with session_scope(engine) as session:
        result = ingest_file(session, round_id=round_id, annotator_id=annotator_id, parsed=parsed, content_hash="x")
    assert len(result.incomplete) == 1


def test_the_item_view_names_what_each_annotators_delivery_lost(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    deliver_incomplete(sqlite_engine, built.round_id, built.people["ann2"])
    with session_scope(sqlite_engine) as session:
        held = review.claim(session, reviewer_id=built.people["rev1"])
        assert held is not None
        view = review.item_view(session, held.item_id)
    assert [(a.name, a.rejected) for a in view.annotators] == [("ann1", 0), ("ann2", 1), ("ann3", 0)]
    assert view.annotators[1].rejections == (
        "annotation 7, field 'category_id': category id 9 is not a class <script>x</script>",
    )
    assert view.to_dict()["annotators"][1]["rejections"] == list(view.annotators[1].rejections)


def test_the_item_page_lists_the_rejections_escaped(sqlite_engine: Engine, tmp_path: Path) -> None:
    built, client, _ = make_site(sqlite_engine, tmp_path)
    deliver_incomplete(sqlite_engine, built.round_id, built.people["ann2"])
    login(client, "rev1")
    page = client.get("/items/1").text
    assert '<ul id="rejections"><li>2. ann2: 1 rejected' in page
    assert "category id 9 is not a class &lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page
    other = client.get("/items/2")
    assert other.status_code in (200, 403) and 'id="rejections"' not in other.text
