"""Issue 13 item 7 in the report: deliveries that lost annotations are listed per annotator and image, escaped."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from qc import rounds
from qc.core import Category, ImageInfo, Segment
from qc.formats import coco
from qc.store import db
from reports.build import ReportOptions, render_report, report_data
from tests.support.rounds import CATEGORIES, H, W, assigned, deliver, engine, rect, setup_round

__all__ = ["engine"]


def test_the_report_lists_what_each_delivery_lost(engine: Engine, tmp_path: Path) -> None:
    round_id, (image,) = setup_round(engine, images=1)
    with db.session_scope(engine, write=False) as session:
        first, second = assigned(session, round_id, image)
    deliver(tmp_path / "d", first, [image], {image: [(5, 5)]})
    refused = [(image, Segment(k, 9, rect(5 + k, 5))) for k in range(3)]  # class 9 <b> is not the project's
    info = [ImageInfo(image, "img0.png", H, W)]
    coco.write_instances(tmp_path / "d" / f"{second}.json", info, refused, [*CATEGORIES, Category(9, "nine")])
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d")
    with db.session_scope(engine, write=False) as session:
        report = report_data(session, round_id=round_id, options=ReportOptions(resamples=10))
    rows = report.data.frames["rejections"].to_dict(orient="records")
    assert [(r["annotator"], r["file_name"], r["rejected"], r["fields"]) for r in rows] == [
        (second, "img0.png", 3, "category_id")
    ]
    assert rows[0]["first_rejection"].startswith("annotations[0]: category id 9 is not one of the allowed")
    page = render_report(report)
    assert '<h2 id="rejections">Deliveries that lost annotations</h2>' in page
    assert f'<tr><td>{second}</td><td>img0.png</td><td class="n">3</td><td>category_id</td>' in page
