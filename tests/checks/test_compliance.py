"""qc.checks compliance frames: violation records, the long frame and its summaries."""

from __future__ import annotations

from typing import Any

import pytest

from qc.checks import (
    IMAGE_CLASS,
    Rule,
    check_submission,
    compliance_frame,
    summarise,
    violation_records,
)
from qc.errors import QCError
from tests.checks.drawing import CORNER_PIXEL, LEFT, PIXEL, FULL_4x4, guideline, seg

# --- compliance summaries ----------------------------------------------------------------------------------


def _records() -> list[dict[str, Any]]:
    rules = guideline("panoptic", min_area=3)
    records = []
    submissions = {
        ("ann1", 1): [seg("a", LEFT), seg("b", PIXEL)],  # b: min_area and overlap with a
        ("ann1", 2): [seg("c", FULL_4x4)],  # clean
        ("ann2", 1): [seg("d", PIXEL), seg("e", CORNER_PIXEL, 9)],  # d: min_area; e: unknown; void
    }
    for (annotator, image_id), segments in submissions.items():
        found = check_submission(segments, height=4, width=4, guideline=rules)
        records += violation_records(segments, found, annotator=annotator, image_id=image_id, guideline=rules)
    return records


def test_violation_records_one_per_segment_and_one_per_image() -> None:
    records = _records()
    assert [(r["annotator"], r["image_id"], r["class"], len(r["violations"])) for r in records] == [
        ("ann1", 1, "coin", 1),  # a: overlap (counted for the first segment of the pair)
        ("ann1", 1, "coin", 1),  # b: min_area
        ("ann1", 1, None, 1),  # unlabeled
        ("ann1", 2, "coin", 0),
        ("ann1", 2, None, 0),
        ("ann2", 1, "coin", 1),
        ("ann2", 1, "unknown:9", 1),
        ("ann2", 1, None, 1),
    ]


def test_compliance_frame_rows_per_applicable_rule() -> None:
    frame = compliance_frame(_records())
    assert list(frame.columns) == ["record", "annotator", "image_id", "class", "rule", "violations"]
    segment_rules = len(Rule) - 1
    assert len(frame) == 5 * segment_rules + 3 * 1  # 5 segments x segment rules + 3 images x unlabeled
    assert set(frame.loc[frame["class"] == IMAGE_CLASS, "rule"]) == {"unlabeled"}
    assert int(frame["violations"].sum()) == 6


def test_compliance_frame_accepts_tuples_and_rejects_junk() -> None:
    frame = compliance_frame([("ann", 1, "coin", []), ("ann", 1, None, [])])
    assert len(frame) == len(Rule)
    with pytest.raises(QCError, match="compliance record 0"):
        compliance_frame([("ann", 1)])


def test_summarise_by_annotator_and_rule() -> None:
    table = summarise(compliance_frame(_records()))
    rows = {(r.annotator, r.rule): (r.items, r.flagged, r.violations, r.rate) for r in table.itertuples()}
    assert rows[("ann1", "min_area")] == (3, 1, 1, pytest.approx(1 / 3))  # a, b, c
    assert rows[("ann1", "overlap")] == (3, 1, 1, pytest.approx(1 / 3))
    assert rows[("ann1", "unlabeled")] == (2, 1, 1, 0.5)  # two images
    assert rows[("ann2", "unknown_class")] == (2, 1, 1, 0.5)
    assert rows[("ann2", "unlabeled")] == (1, 1, 1, 1.0)
    assert rows[("ann2", "holes")] == (2, 0, 0, 0.0)
    assert list(table.columns) == ["annotator", "rule", "items", "flagged", "violations", "rate"]


def test_summarise_by_annotator_counts_each_record_once() -> None:
    table = summarise(compliance_frame(_records()), by=("annotator",)).set_index("annotator")
    assert table.loc["ann1", ["items", "flagged", "violations"]].tolist() == [5, 3, 3]  # 3 segments + 2 images
    assert table.loc["ann2", ["items", "flagged", "violations"]].tolist() == [3, 3, 3]
    by_class = summarise(compliance_frame(_records()), by=("class",)).set_index("class")
    assert by_class.loc["coin", "items"] == 4 and by_class.loc["coin", "flagged"] == 3


@pytest.mark.parametrize("by", [(), ("record",), ("annotator", "colour")])
def test_summarise_rejects_unknown_keys(by: tuple[str, ...]) -> None:
    with pytest.raises(QCError, match="annotator, image_id, class, rule"):
        summarise(compliance_frame(_records()), by=by)
