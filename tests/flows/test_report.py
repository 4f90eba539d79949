"""The manager's report: numbers equal the database's, the page is self-contained, user text is escaped."""

from __future__ import annotations

import io
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from qc.cli import app
from qc.core import ImageInfo
from qc.guideline import load_guideline
from qc.rounds import init_project, round_status
from qc.store import db
from qc.store import models as m
from qc.store.api import add_assignments, add_images, add_person, create_round
from qc.store.results import save_image_result
from reports.data import ReportOptions, bootstrap_ratio
from reports.report import render_feedback, render_report, report_data, write_tables

REPO = Path(__file__).resolve().parents[2]
EVIL = "<script>alert('x')</script>"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
ARGS += " --disable-sync --no-first-run"


class _Links(HTMLParser):
    """Every src/href value and every tag name of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]


def _links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def demo_report(demo_run: Any) -> tuple[Any, str]:
    engine = db.make_engine(demo_run.database_url)
    with db.session_scope(engine, write=False) as session:
        report = report_data(session, round_id=demo_run.round_id, options=ReportOptions(resamples=200))
    return report, render_report(report)


def test_headline_and_annotators_equal_the_database(demo_run: Any, demo_report: tuple[Any, str]) -> None:
    report, html = demo_report
    engine = db.make_engine(demo_run.database_url)
    with db.session_scope(engine, write=False) as session:
        status = round_status(session, round_id=demo_run.round_id)
        followups = session.scalar(
            select(func.count(func.distinct(m.Assignment.image_id))).where(m.Assignment.kind == "followup")
        )
    head = report.data.frames["headline"].iloc[0]
    assert head["images"] == status.images
    assert head["accepted"] == status.verdicts.get("accepted", 0)
    assert head["in_review"] == status.verdicts.get("review", 0)
    assert head["escalated"] >= followups > 0
    assert head["labels_per_accepted"] == pytest.approx(status.labels_per_accepted)
    assert f"<b>{status.labels_per_accepted:.2f}</b>" in html
    annotators = report.data.frames["annotators"].set_index("annotator")
    for name, row in status.annotators.items():
        assert annotators.loc[name, "loo_iou"] == pytest.approx(row["loo_iou"])
        assert annotators.loc[name, "flags"] == row["findings"]
        assert f"{row['loo_iou']:.3f}" in html
    assert annotators.index[-1] == "ben"  # the sloppy annotator ranks last
    assert annotators.loc["ben", "gold_mismatches"] == 1
    assert "No reviews yet" in html  # the demo round has review items but no decision


def test_agreement_intervals_hold_their_estimates(demo_report: tuple[Any, str]) -> None:
    agreement = demo_report[0].data.frames["agreement"]
    classes = agreement[agreement["class"] != "(all classes)"]
    assert set(classes["class"]) == {"coin", "cell", "galaxy", "star"}
    for metric in ("iou", "boundary_iou", "pq"):
        values = classes[[metric, f"{metric}_low", f"{metric}_high"]].to_numpy()
        assert np.all((values >= 0) & (values <= 1))
        assert np.all(values[:, 1] <= values[:, 0] + 1e-12) and np.all(values[:, 0] <= values[:, 2] + 1e-12)
    assert classes["kappa"].isna().all()  # instance task: kappa is n/a
    assert "Kappa: n/a" in demo_report[1]


def test_bootstrap_ratio_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(3)
    num, den = rng.random(500), np.ones(500)
    first = bootstrap_ratio(num, den, resamples=500, seed=1)
    assert first == bootstrap_ratio(num, den, resamples=500, seed=1)
    assert first[0] == pytest.approx(num.mean())
    assert first[1] < first[0] < first[2] and first[2] - first[1] < 0.1
    assert all(math.isnan(v) for v in bootstrap_ratio([1.0], [0.0]))


def test_the_page_is_self_contained(demo_report: tuple[Any, str]) -> None:
    html = demo_report[1]
    parsed = _links(html)
    assert parsed.links, "thumbnails are images"
    for link in parsed.links:
        assert link.startswith(("data:image/png;base64,", "#")), link[:60]
    assert not re.search(r"https?://|\burl\((?!#)|@import|src=\"//", html)  # url(#id) is an SVG clip path
    assert "<svg" in html and "<style>" in html
    assert html.count('src="data:image/png') == len(demo_report[0].thumbnails) > 0


def test_tables_are_written_as_csv_and_parquet(demo_report: tuple[Any, str], tmp_path: Path) -> None:
    report = demo_report[0]
    written = write_tables(report, tmp_path)
    assert len(written) == 2 * len(report.data.frames)
    annotators = pd.read_parquet(tmp_path / "annotators.parquet").set_index("annotator")
    expected = report.data.frames["annotators"].set_index("annotator")
    assert annotators["loo_iou"].to_dict() == pytest.approx(expected["loo_iou"].to_dict())
    assert pd.read_csv(tmp_path / "headline.csv")["images"].iloc[0] == report.data.frames["headline"]["images"][0]


def test_cli_writes_the_report_and_a_feedback_page(demo_run: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "r.html"
    args = ["report", "--round", str(demo_run.round_id), "-o", str(out), "--db", demo_run.database_url]
    result = runner.invoke(app, [*args, "--tables", str(tmp_path / "t"), "--resamples", "50"])
    assert result.exit_code == 0, result.output
    assert "Agreement per class" in out.read_text() and (tmp_path / "t" / "pairs.parquet").is_file()
    result = runner.invoke(app, [*args, "--annotator", "ben"])
    assert result.exit_code == 0, result.output
    assert "Feedback for ben" in out.read_text() and "ben scores 0.718 against the gold answer" in out.read_text()
    missing = runner.invoke(app, ["report", "--round", "999", "-o", str(out), "--db", demo_run.database_url])
    assert missing.exit_code == 1 and "no round 999" in missing.output


def test_report_flow_writes_feedback_pages(demo_run: Any, tmp_path: Path) -> None:
    from flows.report import report

    result = report(demo_run.database_url, str(tmp_path / "r.html"), round_id=demo_run.round_id, annotators=["ana"])
    assert Path(str(result["report"])).read_text().count("<h2") >= 9
    assert "Feedback for ana" in (tmp_path / "r-ana.html").read_text()


# --- a small hand-made round with hostile user text ---------------------------------------------------------


def _hostile_round(session: Session) -> int:
    ref = init_project(session, guideline=load_guideline(REPO / "examples" / "guideline.yaml"), name="evil")
    images = add_images(session, project_id=ref.project_id, images=[ImageInfo(1, "a.png", 20, 30)])
    image_id = int(images[0].id or 0)
    people = [int(add_person(session, name=n, roles=["annotator"]).id or 0) for n in (EVIL, "bob", "cy")]
    reviewer = int(add_person(session, name="rev<b>", roles=["reviewer"]).id or 0)
    round_row = create_round(session, project_id=ref.project_id, name="r<1>", guideline_version_id=None)
    round_id = int(round_row.id or 0)
    add_assignments(session, round_id=round_id, pairs=[(image_id, p) for p in people])
    scores = [
        {"kind": "annotator", "annotators": [p], "metric": "loo_iou", "value": v, "category_id": None, "detail": None}
        for p, v in zip(people, (0.5, 0.9, 0.8), strict=True)
    ]
    scores.append(
        {"kind": "group", "annotators": people, "metric": "mean_iou", "value": 0.7, "category_id": 1, "detail": None}
    )
    flag = {"kind": "extra", "level": "annotator", "annotators": [people[0]], "severity": 1.0}
    flag |= {"message": f"{EVIL} drew an object", "bbox_x": 1, "bbox_y": 1, "bbox_w": 5, "bbox_h": 5}
    save_image_result(
        session, round_id=round_id, image_id=image_id, input_hash="h", verdict="review", labels_spent=3,
        summary={}, scores=scores, flags=[flag],
    )  # fmt: skip
    item = m.ReviewItem(round_id=round_id, image_id=image_id, status="decided")
    session.add(item)
    session.flush()
    session.add(m.Decision(review_item_id=int(item.id or 0), reviewer_id=reviewer, kind="rework", note="<img src=x>"))
    session.flush()
    return round_id


def test_user_text_is_escaped(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'qc.db'}")
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        round_id = _hostile_round(session)
    with db.session_scope(engine, write=False) as session:
        report = report_data(session, round_id=round_id, options=ReportOptions(resamples=20))
    html = render_report(report)
    feedback = render_feedback(report, annotator=EVIL)
    for page in (html, feedback):
        assert EVIL not in page and "<img src=x>" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        assert "script" not in _links(page).tags
    assert "&lt;img src=x&gt;" in html and "rev&lt;b&gt;" in html
    reviewers = report.data.frames["reviewers"]
    assert reviewers.iloc[0]["rework"] == 1 and reviewers.iloc[0]["override_rate"] == 1.0
    assert report.data.frames["headline"].iloc[0]["reworked"] == 1


def test_a_screenshot_shows_the_page(demo_report: tuple[Any, str], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) for this test")
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(demo_report[1], encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS.split())
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            png = page.screenshot(full_page=True)
        finally:
            browser.close()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert picture.shape[0] > 2000 and picture.shape[1] == 1200
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 500  # text, charts and thumbnails, not a blank page
