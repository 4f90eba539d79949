"""reports.sections (pure frames of Tables) and reports.mask_sections, on the small database and on no round."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.workload import SMALL, prepare
from qc.rounds import round_guideline, round_status
from qc.store import db
from reports import sections
from reports.load import Tables, load_tables
from reports.mask_sections import class_balance_frame, compliance_frames, gold_frame, staple_frame, thumbnails
from tests.reports.conftest import World

ANNOTATORS = ["annotator1", "annotator2", "annotator3"]


def _tables(world: World, *round_ids: int) -> Tables:
    with db.session_scope(world.engine, write=False) as session:
        return load_tables(session, round_ids=round_ids)


@pytest.fixture(scope="module")
def first(report_world: World) -> Tables:
    return _tables(report_world, report_world.round_id)


@pytest.fixture(scope="module")
def empty(report_world: World) -> Tables:
    return _tables(report_world)


def _annotators(world: World, tables: Tables) -> pd.DataFrame:
    with db.session_scope(world.engine, write=False) as session:
        gold, staple_rows = gold_frame(session, tables), staple_frame(session, tables)
    return sections.annotator_frame(tables, gold, staple_rows).set_index("annotator")


# --- pure sections -----------------------------------------------------------------------------------------


def test_headline_equals_the_round_status(report_world: World, first: Tables) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        status = round_status(session, round_id=report_world.round_id)
    head = sections.headline_frame(first).iloc[0]
    assert head["images"] == status.images == 6
    assert head["accepted"] == status.verdicts.get("accepted", 0)
    assert head["in_review"] == status.verdicts.get("review", 0)
    assert head["labels_per_accepted"] == pytest.approx(status.labels_per_accepted)
    assert head["labels_spent"] == 3 * 6 and head["escalated"] == 0  # k = 3 from the start: nothing to escalate
    assert head["reviewed"] == 2 and head["reworked"] == 1


def test_annotators_equal_the_round_status(report_world: World, first: Tables) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        status = round_status(session, round_id=report_world.round_id)
    annotators = _annotators(report_world, first)
    assert sorted(annotators.index) == ANNOTATORS
    for name, row in status.annotators.items():
        assert annotators.loc[name, "loo_iou"] == pytest.approx(row["loo_iou"])
        assert annotators.loc[name, "flags"] == row["findings"]
    assert annotators["loo_iou"].is_monotonic_decreasing
    assert annotators.index[-1] == "annotator3"  # the noisiest tracer (sigma 3 px) ranks last
    assert (annotators["images"] == 6).all() and annotators["gold_iou"].isna().all()  # no gold in the first round
    assert annotators["staple_sensitivity"].between(0, 1).all() and (annotators["staple_groups"] > 0).all()


def test_agreement_intervals_hold_their_estimates(first: Tables) -> None:
    agreement = sections.agreement_frame(first, resamples=200)
    classes = agreement[agreement["class"] != "(all classes)"]
    assert set(classes["class"]) == {"a", "b", "c"}
    for metric in ("iou", "boundary_iou", "pq"):
        values = classes[[metric, f"{metric}_low", f"{metric}_high"]].to_numpy()
        assert np.all((values >= 0) & (values <= 1))
        assert np.all(values[:, 1] <= values[:, 0] + 1e-12) and np.all(values[:, 0] <= values[:, 2] + 1e-12)
    assert classes["kappa"].isna().all()  # instance task: kappa is n/a
    assert sections.agreement_frame(first, resamples=200).equals(agreement)  # seeded


def test_pair_matrix_is_symmetric_with_an_empty_diagonal(first: Tables) -> None:
    matrix = sections.pair_matrix(first)
    assert list(matrix.index) == list(matrix.columns) == ANNOTATORS
    values = matrix.to_numpy(dtype=np.float64)
    assert np.isnan(np.diag(values)).all()
    off = values[~np.eye(3, dtype=bool)]
    assert np.allclose(values, values.T, equal_nan=True) and ((off > 0.5) & (off <= 1)).all()


def test_images_rank_review_first_then_the_most_image_findings(first: Tables) -> None:
    images = sections.image_frame(first)
    assert len(images) == 6 and set(images["file_name"]) == {f"img{i:05d}.png" for i in range(6)}
    ranks = images["verdict"].map(sections.VERDICT_ORDER).tolist()
    assert ranks == sorted(ranks)
    reviewed = images[images["verdict"] == "review"]
    assert reviewed["image_findings"].is_monotonic_decreasing
    assert (images["findings"] >= images["image_findings"]).all()


def test_reviewers_count_decisions_and_hours(report_world: World, first: Tables) -> None:
    reviewers = sections.reviewer_frame(first)
    row = reviewers.iloc[0]
    assert len(reviewers) == 1 and row["reviewer"] == report_world.reviewer
    assert row["decisions"] == 2 and row["rework"] == 1 and row["accept_consensus"] == 1 and row["escalate"] == 0
    assert row["overrides"] == 1 and row["override_rate"] == 0.5  # a rework overrides the consensus
    assert 0 < row["median_hours"] < 1  # decided minutes after the round closed


def test_trends_have_one_row_per_round_and_annotator(report_world: World) -> None:
    both = _tables(report_world, report_world.round_id, report_world.gold_round_id)
    trends = sections.trend_frame(both)
    assert sorted(set(trends["round_id"])) == [report_world.round_id, report_world.gold_round_id]
    assert len(trends) == 6 and trends["loo_iou"].between(0, 1).all()
    assert trends.loc[trends["round_id"] == report_world.round_id, "images"].tolist() == [6, 6, 6]


def test_feedback_carries_only_what_reviewers_wrote_to_each_annotator(report_world: World, first: Tables) -> None:
    feedback = sections.feedback_frame(first)
    assert set(feedback["annotator"]) == set(ANNOTATORS)
    noted = feedback[feedback["review_notes"] != ""]
    # the rework decision wrote "trace <i>closer</i>" to person 1 and a note for the lead: person 1 gets the
    # feedback on every row of that image, nobody gets the note, nor another annotator's feedback
    assert set(noted["annotator"]) == {first.people[1]}
    assert (noted["review_notes"] == f"{report_world.reviewer} (rework): trace <i>closer</i>").all()
    assert not feedback["review_notes"].str.contains("<img src=x>", regex=False).any()
    for _, part in feedback.groupby("annotator"):
        assert part["severity"].is_monotonic_decreasing


def test_feedback_to_an_annotator_no_finding_names_is_a_row_of_its_own(first: Tables) -> None:
    decided = first.decisions.iloc[0].copy()
    quiet = next(person for person, name in sorted(first.people.items()) if name == ANNOTATORS[1])
    decided["feedback"] = {str(quiet): "see the guideline, section 3"}
    flags = first.flags
    naming = (flags["image_id"] == decided["image_id"]) & flags["annotators"].map(lambda people: quiet in people)
    tables = replace(first, decisions=pd.DataFrame([decided]), flags=flags[~naming])
    rows = sections.feedback_frame(tables)
    (row,) = rows[rows["review_notes"] != ""].itertuples()
    assert (row.annotator, row.kind, row.level) == (ANNOTATORS[1], "review_feedback", "annotator")
    assert row.review_notes.endswith("(rework): see the guideline, section 3")


def test_no_round_gives_empty_sections(empty: Tables) -> None:
    head = sections.headline_frame(empty).iloc[0]
    assert head.drop("labels_per_accepted").eq(0).all() and math.isnan(head["labels_per_accepted"])
    agreement = sections.agreement_frame(empty)
    assert agreement["class"].tolist() == ["(all classes)"] and agreement["images"].tolist() == [0]
    assert agreement.drop(columns=["class", "images"]).isna().all(axis=None)
    for section in (
        sections.pair_matrix,
        sections.image_frame,
        sections.reviewer_frame,
        sections.trend_frame,
        sections.feedback_frame,
    ):
        assert section(empty).empty, section.__name__
    gold = pd.DataFrame(columns=["annotator_id", "gold_iou", "gold_images"])
    staple = pd.DataFrame(columns=["annotator_id", "staple_sensitivity", "staple_specificity", "staple_groups"])
    assert sections.annotator_frame(empty, gold, staple).empty


# --- sections that read segments ---------------------------------------------------------------------------


def test_gold_agreement_per_annotator(report_world: World) -> None:
    annotators = _annotators(report_world, _tables(report_world, report_world.gold_round_id))
    assert (annotators["gold_images"] == 1).all()
    assert annotators.loc["annotator1", "gold_iou"] == pytest.approx(1.0)  # the gold answer is annotator1's
    assert (annotators.loc[["annotator2", "annotator3"], "gold_iou"] < 1.0).all()


def test_staple_is_bounded_by_max_images(report_world: World, first: Tables) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        capped = staple_frame(session, first, max_images=1)
        none = staple_frame(session, first, max_images=0)
    assert capped["staple_groups"].max() <= 3  # one image, at most its 3 classes
    assert none.empty and list(none.columns) == [
        "annotator_id",
        "staple_sensitivity",
        "staple_specificity",
        "staple_groups",
    ]


def test_compliance_recomputed_or_counted_from_flags(report_world: World, first: Tables) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        guideline = round_guideline(session, round_id=report_world.round_id)
        recomputed = compliance_frames(session, first, guideline=guideline)
        counted = compliance_frames(session, first, guideline=guideline, max_submissions=0)
        unguided = compliance_frames(session, first, guideline=None)
    assert set(recomputed["compliance_annotator"]["annotator"]) == set(ANNOTATORS)
    assert set(recomputed["compliance_class"]["class"]) == {"a", "b", "c", "(image)"}  # (image): image-wide rules
    assert recomputed["compliance_annotator"]["rate"].between(0, 1).all()
    for fallback in (counted, unguided):
        assert list(fallback["compliance_annotator"].columns) == ["rule", "annotator", "violations"]
        assert fallback["compliance_class"].empty and list(fallback["compliance_class"].columns) == ["rule", "class"]
    assert counted["compliance_annotator"].equals(unguided["compliance_annotator"])
    guideline_flags = first.flags[first.flags["kind"] == "guideline"].explode("annotators")
    assert counted["compliance_annotator"]["violations"].sum() == len(guideline_flags)


def test_class_balance_of_the_consensus(report_world: World, first: Tables) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        balance = class_balance_frame(session, round_ids=[report_world.round_id], classes=first.classes)
        nothing = class_balance_frame(session, round_ids=[999], classes=first.classes)
    assert set(balance["source"]) == {"consensus"} and balance["pixel_share"].sum() == pytest.approx(1.0)
    assert balance["class"].tolist() == ["a", "b", "c"]
    assert nothing.empty and list(nothing.columns) == list(balance.columns)


def test_class_balance_falls_back_to_the_submissions(tmp_path: Path) -> None:
    prepared = prepare(f"sqlite:///{tmp_path / 'qc.db'}", tmp_path, 2, **SMALL)  # ingested, never scored
    engine = db.make_engine(prepared.url)
    try:
        with db.session_scope(engine, write=False) as session:
            balance = class_balance_frame(session, round_ids=[prepared.round_id], classes={1: "a"})
    finally:
        engine.dispose()
    assert set(balance["source"]) == {"submissions"} and balance["instances"].sum() == 3 * 2 * 6
    assert balance["class"].tolist() == ["a", "2", "3"]  # a class without a name shows its id


def test_thumbnails_of_the_worst_images(report_world: World, first: Tables) -> None:
    worst = sections.image_frame(first).head(3)
    with db.session_scope(report_world.engine, write=False) as session:
        thumbs = thumbnails(session, worst)
        assert thumbnails(session, worst.head(0)) == {}
    assert list(thumbs) == sorted(zip(worst["round_id"], worst["image_id"], strict=True), key=lambda k: k[1])
    assert all(uri.startswith("data:image/png;base64,") for uri in thumbs.values())
