"""reports.summary: the round summary page the web app serves (flagged images worst first, escaped, self-contained)."""

from __future__ import annotations

import re

from qc.rounds import round_status
from qc.store import db
from reports.summary import render_summary, summary_data
from tests.reports.conftest import World


def test_summary_lists_flagged_images_first_and_findings_worst_first(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        data = summary_data(session, round_id=report_world.round_id)
        status = round_status(session, round_id=report_world.round_id)
    assert data["status"] == status.to_dict()
    images = data["images"]
    assert sorted(i["file_name"] for i in images) == [f"img{i:05d}.png" for i in range(6)]
    accepted = [i["verdict"] == "accepted" for i in images]
    assert accepted == sorted(accepted)  # accepted images last
    flagged = [i["image_level"] for i in images if i["verdict"] != "accepted"]
    assert flagged == sorted(flagged, reverse=True)
    for image in images:
        assert image["labels"] == 3
        assert image["image_level"] == sum(1 for f in image["findings"] if f["level"] == "image")
        assert all(len(f["bbox"]) == 4 and f["annotators"] for f in image["findings"])
    loo = [row["loo_iou"] for _, row in data["annotators"]]
    assert loo == sorted(loo, reverse=True) and data["annotators"][-1][0] == "annotator3"


def test_summary_page_is_self_contained(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        html = render_summary(summary_data(session, round_id=report_world.gold_round_id))
    assert "img00005.png" in html and "<style>" in html  # the gold image is listed
    assert not re.search(r"https?://|@import|src=\"//", html)
