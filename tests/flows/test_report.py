"""The manager's report of the demo round (the real flows): numbers equal the database's, the CLI, the report flow,
a screenshot. The report's modules are tested on a small database without Prefect in ``tests/reports``."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlmodel import func, select
from typer.testing import CliRunner

from qc.cli import app
from qc.rounds import round_status
from qc.store import db
from qc.store import models as m
from reports.build import ReportOptions, render_report, report_data

CHROMIUM = Path("/usr/bin/chromium")
ARGS = "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
ARGS += " --disable-sync --no-first-run"


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


def test_compliance_tables_count_the_simulated_slips(demo_run: Any, demo_report: tuple[Any, str]) -> None:
    """Every annotator's holes, stray fragments and slivers (``simulation.json``) are the report's flagged
    records, by rule; the class table puts the holes on coins, the stray fragments on stars."""
    report, html = demo_report
    frames = report.data.frames
    slips: Counter[tuple[str, str]] = Counter()
    for delivery in json.loads(demo_run.simulation.read_text()):
        slips.update((rule, delivery["annotator"]) for _, _, rule in delivery["slips"])
    by_annotator = frames["compliance_annotator"].set_index(["rule", "annotator"])["flagged"]
    for (rule, annotator), count in slips.items():
        assert by_annotator.loc[(rule, annotator)] == count, (rule, annotator)
    for annotator in ("ana", "ben", "cai", "dee"):
        assert by_annotator.xs(annotator, level="annotator").sum() > 0, annotator
    assert {rule for rule, _ in slips} == {"holes", "max_parts", "min_area"}
    by_class = frames["compliance_class"].set_index(["rule", "class"])["flagged"]
    for rule in ("holes", "max_parts", "min_area"):
        assert by_class.xs(rule, level="rule").sum() == sum(n for (r, _), n in slips.items() if r == rule), rule
    assert by_class.loc[("holes", "coin")] > 0 and by_class.loc[("max_parts", "star")] > 0
    assert frames["compliance_class"]["flagged"].gt(0).sum() >= 3
    section = html[html.index('id="compliance"') : html.index('id="reviewers"')]
    marked = section.count('class="n warm"') + section.count('class="n hot"')  # non-zero rates are coloured
    assert marked == by_annotator.gt(0).sum() + by_class.gt(0).sum() > len(slips)


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
    rgb = picture.reshape(-1, 3).astype(np.uint32)
    seen = np.zeros(1 << 24, dtype=bool)  # one flag per RGB colour (np.unique over rows took seconds)
    seen[(rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]] = True
    assert np.count_nonzero(seen) > 500  # text, charts and thumbnails, not a blank page
