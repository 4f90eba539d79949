"""reports.build: the report of the small database is self-contained, its tables are written, user text is escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from qc.errors import InvalidOptionError
from qc.store import db
from qc.store.logins import person_names
from reports.build import (
    Report,
    ReportOptions,
    build_report,
    feedback_names,
    render_feedback,
    render_report,
    report_data,
    write_report,
    write_tables,
)
from tests.reports.conftest import EVIL, World, hostile_round
from tests.support.databases import upgraded

SECTIONS = ["headline", "agreement", "pass_agreement", "reliability", "paused", "annotators", "pairs", "images"]
SECTIONS += ["compliance_annotator", "compliance_class"]
SECTIONS += ["reviewers", "trends", "class_balance", "feedback", "rejections", "time"]


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
def world_report(report_world: World) -> tuple[Report, str]:
    with db.session_scope(report_world.engine, write=False) as session:
        report = report_data(session, round_id=report_world.round_id, options=ReportOptions(resamples=200))
    return report, render_report(report)


def test_the_report_has_every_section_and_its_meta(world_report: tuple[Report, str]) -> None:
    report = world_report[0]
    assert list(report.data.frames) == SECTIONS
    assert report.data.title == "round 1"  # a round without a name is called by its id
    meta = report.data.meta
    assert meta["task"] == "instance" and meta["thresholds"]["accept_iou"] == 0.8
    assert meta["options"] == {"resamples": 200, "seed": 0, "thumbnails": 50}
    reproducibility = meta["reproducibility"]
    assert reproducibility["guidelines"][0]["version"] == "drill-1" and reproducibility["submissions"] == 18
    assert re.fullmatch(r"[0-9a-f]{64}", reproducibility["data_sha256"])
    assert set(report.figures) == {"pairs", "trends", "balance"} and all(report.figures.values())
    as_dict = report.to_dict()
    assert as_dict["thumbnails"] == len(report.thumbnails) == 6 and as_dict["figures"] == sorted(report.figures)
    assert as_dict["frames"]["headline"][0]["images"] == 6


def test_build_report_of_a_project_and_of_its_named_round(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        project = report_data(session, project=report_world.project, options=ReportOptions(resamples=20, thumbnails=2))
        second = report_data(session, round_id=report_world.gold_round_id, options=ReportOptions(resamples=20))
        data = build_report(
            session, round_ids=[report_world.gold_round_id], title="t", options=ReportOptions(resamples=20)
        )
    assert project.data.title == "project drill" and len(project.thumbnails) == 2
    assert project.data.frames["headline"].iloc[0]["scored"] == 6 + 4
    assert second.data.title == "round second"
    assert data.frames["headline"].equals(second.data.frames["headline"]) and data.title == "t"


def test_the_page_is_self_contained(world_report: tuple[Report, str]) -> None:
    html = world_report[1]
    parsed = _links(html)
    assert parsed.links, "thumbnails are images"
    for link in parsed.links:
        assert link.startswith(("data:image/png;base64,", "#")), link[:60]
    assert not re.search(r"https?://|\burl\((?!#)|@import|src=\"//", html)  # url(#id) is an SVG clip path
    assert "<svg" in html and "<style>" in html
    assert html.count('src="data:image/png') == len(world_report[0].thumbnails) > 0


def test_tables_are_written_as_csv_and_parquet(world_report: tuple[Report, str], tmp_path: Path) -> None:
    report = world_report[0]
    written = write_tables(report, tmp_path)
    assert len(written) == 2 * len(report.data.frames)
    annotators = pd.read_parquet(tmp_path / "annotators.parquet").set_index("annotator")
    expected = report.data.frames["annotators"].set_index("annotator")
    assert annotators["loo_iou"].to_dict() == pytest.approx(expected["loo_iou"].to_dict())
    assert pd.read_csv(tmp_path / "headline.csv")["images"].iloc[0] == report.data.frames["headline"]["images"][0]
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    assert pairs.columns[0] == "index" and len(pairs) == 3  # the matrix keeps its row names


def test_write_report_writes_the_page_tables_and_feedback(report_world: World, tmp_path: Path) -> None:
    options = ReportOptions(resamples=20, thumbnails=1)
    with db.session_scope(report_world.engine, write=False) as session:
        page = write_report(session, tmp_path / "out" / "r.html", round_id=1, tables=tmp_path / "t", options=options)
        mine = write_report(session, tmp_path / "a1.html", round_id=1, annotator="annotator1", options=options)
        report = report_data(session, round_id=1, options=options)
    assert page == tmp_path / "out" / "r.html" and "Agreement per class" in page.read_text()
    assert (tmp_path / "t" / "pairs.parquet").is_file()
    assert "Feedback for annotator1" in mine.read_text()
    assert list(feedback_names(report)) == ["annotator1", "annotator2", "annotator3"]
    nobody = render_feedback(report, annotator="nobody")
    assert "Nothing flagged: no finding names you." in nobody


def test_an_annotators_feedback_page_shows_only_what_was_written_to_them(report_world: World) -> None:
    options = ReportOptions(resamples=20, thumbnails=0)
    with db.session_scope(report_world.engine, write=False) as session:
        report = report_data(session, round_id=report_world.round_id, options=options)
        addressed = person_names(session)[1]  # the fixture's rework decision wrote to person 1
    pages = {name: render_feedback(report, annotator=name) for name in feedback_names(report)}
    assert "trace &lt;i&gt;closer&lt;/i&gt;" in pages.pop(addressed)
    for name, page in pages.items():
        assert "trace" not in page, name
    for page in [*pages.values(), render_feedback(report, annotator=addressed)]:
        assert "&lt;img src=x&gt;" not in page  # the note for the lead stays with the lead


def test_user_text_is_escaped(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'qc.db'}")
    upgraded(engine)
    with db.session_scope(engine) as session:
        round_id = hostile_round(session)
    with db.session_scope(engine, write=False) as session:
        report = report_data(session, round_id=round_id, options=ReportOptions(resamples=20))
    engine.dispose()
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


def _compliance_rows(html: str) -> dict[tuple[str, str], str]:
    """``{(table caption, rule): the row's cells as text}`` of the page's compliance tables."""
    part = html[html.index('id="compliance"') : html.index('id="reviewers"')]
    rows: dict[tuple[str, str], str] = {}
    for caption, body in re.findall(r"<h3>(.*?)</h3>(.*?)(?=<h3>|$)", part, flags=re.S):
        for cells in re.findall(r"<tr><td>(.*?)</tr>", body, flags=re.S):
            rule, _, rest = cells.partition("</td>")
            rows[(caption, rule)] = re.sub(r"<[^>]+>", " ", rest).split()
    return rows


def test_compliance_cells_show_the_counts_behind_each_rate(world_report: tuple[Report, str]) -> None:
    report, html = world_report
    frame = report.data.frames["compliance_annotator"]
    columns = sorted(set(frame["annotator"]))
    rows = _compliance_rows(html)
    for rule, part in frame.groupby("rule"):
        by_annotator = part.set_index("annotator")
        expected = []
        for name in columns:
            if name in by_annotator.index:
                cell = by_annotator.loc[name]
                expected += [f"{cell['rate']:.2f}", f"{int(cell['flagged'])}/{int(cell['items'])}"]
            else:
                expected += ["n/a"]
        assert rows[("rule x annotator", rule)] == expected
    assert any(int(c.split("/")[0]) > 0 for cells in rows.values() for c in cells if "/" in c)  # some rule broke


def test_compliance_counted_from_flags_shows_counts_and_says_so(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        report = report_data(
            session, round_id=report_world.round_id, options=ReportOptions(resamples=20, compliance_submissions=0)
        )
    html = render_report(report)
    counted = report.data.frames["compliance_annotator"]
    assert "rate" not in counted and counted["violations"].sum() > 0
    rows = _compliance_rows(html)
    for rule, part in counted.groupby("rule"):
        shown = rows[("rule x annotator", rule)]
        by_annotator = dict(zip(part["annotator"], part["violations"], strict=True))
        assert [c for c in shown if c != "n/a"] == [str(by_annotator[a]) for a in sorted(by_annotator)]
    assert "these are the numbers of guideline flags qc stored" in html
    assert "counted from the stored flags, which hold no class" in html


def test_no_resamples_gives_estimates_without_intervals_and_a_negative_count_is_refused(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        report = report_data(session, round_id=report_world.round_id, options=ReportOptions(resamples=0))
        sampled = report_data(session, round_id=report_world.round_id, options=ReportOptions(resamples=50))
    agreement, with_intervals = report.data.frames["agreement"], sampled.data.frames["agreement"]
    estimates = [c for c in ("iou", "boundary_iou", "pq") if f"{c}_low" in agreement.columns]  # kappa: semantic only
    assert len(estimates) == 3 and agreement[estimates].notna().any().all()
    assert agreement[estimates].equals(with_intervals[estimates])  # the same estimates, only the intervals go
    assert agreement[[f"{c}_low" for c in estimates] + [f"{c}_high" for c in estimates]].isna().all().all()
    assert with_intervals[[f"{c}_low" for c in estimates]].notna().any().any()
    html = render_report(report)
    assert "No intervals (the report was made with --resamples 0)" in html and "resampled 0 times" not in html
    for field in ("resamples", "thumbnails", "staple_images", "compliance_submissions"):
        with pytest.raises(InvalidOptionError, match=f"{field} must be a whole number >= 0; got -1"):
            ReportOptions(**{field: -1})


def test_a_folder_as_the_page_or_a_file_as_the_tables_is_one_error_line(report_world: World, tmp_path: Path) -> None:
    """``qc report -o reports/`` and ``--tables FILE`` name the path and what to give (tracebacks before)."""
    from typer.testing import CliRunner

    from qc.cli import app

    a_file = tmp_path / "tables.csv"
    a_file.write_text("x\n", encoding="utf-8")
    cases = {
        ("-o", str(tmp_path)): f"error: file {tmp_path}: is a folder; the page needs a file name",
        ("-o", str(tmp_path / "r.html"), "--tables", str(a_file)): f"error: file {a_file}: is a file; --tables takes",
        ("-o", str(a_file / "r.html")): f"error: file {a_file / 'r.html'}: cannot write the page",
    }
    for options, expected in cases.items():
        answer = CliRunner().invoke(
            app, ["report", "--round", "1", "--resamples", "0", *options, "--db", report_world.url]
        )
        assert answer.exit_code == 1 and answer.output.startswith(expected), answer.output
        assert answer.output.count("\n") == 1, answer.output
    assert not (tmp_path / "r.html").exists()
