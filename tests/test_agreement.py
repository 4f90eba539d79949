"""qc.agreement + qc.flags: the majority rule of DESIGN §5 on hand-built images."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qc import masks
from qc.agreement import AgreementSettings, GroupStatus, score_image
from qc.consensus import majority_vote
from qc.core import FindingLevel, Segment, Verdict
from qc.errors import InvalidOptionError
from qc.flags import Finding, FindingKind, assess, gold_findings
from qc.metrics import boundary_iou, mask_iou

H, W = 64, 64


def rect(x: int, y: int, w: int = 10, h: int = 10) -> dict:
    m = np.zeros((H, W), bool)
    m[y : y + h, x : x + w] = True
    return masks.encode(m)


def seg(sid: str, x: int, y: int, w: int = 10, h: int = 10, cat: int = 1) -> Segment:
    return Segment(sid, cat, rect(x, y, w, h))


def kinds(findings: tuple[Finding, ...] | list[Finding]) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((str(f.kind), f.annotators) for f in findings)


def run(by_annotator: dict, **options: object):  # type: ignore[no-untyped-def]
    k_max = options.pop("k_max", None)
    settings = AgreementSettings(**options)  # type: ignore[arg-type]
    agreement = score_image(by_annotator, height=H, width=W, image_id="img", settings=settings)
    return agreement, assess(agreement, k_max=k_max)  # type: ignore[arg-type]


def test_no_annotations_at_all_is_accepted_with_nothing() -> None:
    agreement, assessment = run({"a": [], "b": [], "c": []})
    assert agreement.groups == () and agreement.consensus == ()
    assert assessment.verdict is Verdict.ACCEPTED
    assert all(math.isnan(s.loo_iou) for s in agreement.annotator_scores)


def test_three_agree_is_accepted_and_consensus_is_their_majority_vote() -> None:
    by = {"a": [seg("a1", 5, 5, 20, 20)], "b": [seg("b1", 5, 6, 20, 20)], "c": [seg("c1", 5, 5, 20, 20)]}
    agreement, assessment = run(by)
    (group,) = agreement.groups
    assert group.status is GroupStatus.SUPPORTED and group.supporters == ("a", "b", "c")
    expected = majority_vote([s[0].rle for s in by.values()])
    assert agreement.consensus[0].rle == expected
    assert agreement.consensus[0].area == masks.area(expected)
    assert agreement.consensus[0].bbox == masks.bbox(expected)
    assert assessment.verdict is Verdict.ACCEPTED and assessment.findings == ()
    # pair values are the library metrics, computed on the crop
    pair = {(p.a, p.b): p for p in group.pairs}[("a", "b")]
    assert pair.iou == pytest.approx(mask_iou(by["a"][0].rle, by["b"][0].rle), abs=1e-12)
    assert pair.boundary_iou == pytest.approx(boundary_iou(by["a"][0].rle, by["b"][0].rle), abs=1e-12)


def test_a_missed_object_is_annotator_feedback_not_review() -> None:
    agreement, assessment = run({"a": [seg("a1", 5, 5)], "b": [seg("b1", 5, 5)], "c": []})
    assert agreement.groups[0].status is GroupStatus.SUPPORTED
    assert kinds(assessment.findings) == [("missed", ("c",))]
    assert assessment.findings[0].level is FindingLevel.ANNOTATOR
    assert assessment.findings[0].bbox == (5, 5, 10, 10)
    assert assessment.verdict is Verdict.ACCEPTED
    scores = {s.annotator: (s.loo_iou, s.objects) for s in agreement.annotator_scores}
    assert scores["a"] == scores["b"] == (1.0, 1)
    assert math.isnan(scores["c"][0]) and scores["c"][1] == 0  # shape agreement: nothing to compare


def test_an_extra_object_drawn_by_one_of_three_is_feedback() -> None:
    by = {"a": [seg("a1", 5, 5), seg("x", 40, 40)], "b": [seg("b1", 5, 5)], "c": [seg("c1", 5, 5)]}
    agreement, assessment = run(by)
    assert [g.status for g in agreement.groups] == [GroupStatus.SUPPORTED, GroupStatus.ABSENT]
    assert kinds(assessment.findings) == [("extra", ("a",))]
    assert assessment.findings[0].segment_id == "x"
    assert assessment.verdict is Verdict.ACCEPTED
    assert len(agreement.consensus) == 1


def test_a_sloppy_shape_is_an_outlier_and_stays_out_of_the_consensus() -> None:
    # c's box is 10x14 over the 10x10 object: IoU 0.71 < accept_iou 0.75 but still matched
    by = {"a": [seg("a1", 5, 5)], "b": [seg("b1", 5, 5)], "c": [seg("c1", 5, 5, 10, 14)]}
    agreement, assessment = run(by)
    (group,) = agreement.groups
    assert group.supporters == ("a", "b")
    assert agreement.consensus[0].rle == by["a"][0].rle
    (finding,) = assessment.findings
    assert finding.kind is FindingKind.OUTLIER_SHAPE and finding.annotators == ("c",)
    assert finding.severity == pytest.approx(1 - 100 / 140)
    assert assessment.verdict is Verdict.ACCEPTED


def test_another_class_by_one_of_three_is_a_class_outlier() -> None:
    by = {"a": [seg("a1", 5, 5, cat=1)], "b": [seg("b1", 5, 5, cat=1)], "c": [seg("c1", 5, 5, cat=2)]}
    agreement, assessment = run(by)
    assert agreement.groups[0].category == 1 and agreement.groups[0].supporters == ("a", "b")
    assert kinds(assessment.findings) == [("class_outlier", ("c",))]
    assert assessment.verdict is Verdict.ACCEPTED


def test_three_classes_for_one_shape_is_a_class_conflict_for_review() -> None:
    by = {"a": [seg("a1", 5, 5, cat=1)], "b": [seg("b1", 5, 5, cat=2)], "c": [seg("c1", 5, 5, cat=3)]}
    agreement, assessment = run(by)
    assert agreement.groups[0].status is GroupStatus.CLASS_CONFLICT
    assert kinds(assessment.findings) == [("class_conflict", ("a", "b", "c"))]
    assert assessment.verdict is Verdict.REVIEW
    assert agreement.consensus == ()


def test_no_majority_on_shape_is_unsupported() -> None:
    # three boxes shifted by 3 px from each other: pairwise IoU 0.54 / 0.54 / 0.25 (matched, not accepted)
    by = {"a": [seg("a1", 5, 5)], "b": [seg("b1", 8, 5)], "c": [seg("c1", 11, 5)]}
    agreement, assessment = run(by)
    assert agreement.groups[0].status is GroupStatus.UNSUPPORTED
    assert kinds(assessment.image_findings) == [("unsupported", ("a", "b", "c"))]
    assert assessment.verdict is Verdict.REVIEW


@pytest.mark.parametrize(
    ("k_max", "expected"),
    [
        (None, Verdict.REVIEW),  # no adaptive overlap: a disagreement goes to review
        (2, Verdict.REVIEW),  # k_max reached
        (3, Verdict.ESCALATE),  # one more annotator first
    ],
)
def test_two_annotators_disagreeing_escalate_until_k_max(k_max: int | None, expected: Verdict) -> None:
    _, assessment = run({"a": [seg("a1", 5, 5)], "b": []}, k_max=k_max)
    assert kinds(assessment.image_findings) == [("unsupported", ("a",))]
    assert assessment.verdict is expected
    assert assessment.labels_spent == 2


def test_two_annotators_agreeing_are_accepted_at_the_cost_of_two_labels() -> None:
    _, assessment = run({"a": [seg("a1", 5, 5)], "b": [seg("b1", 5, 6)]}, k_max=3)
    assert assessment.verdict is Verdict.ACCEPTED and assessment.labels_spent == 2


def test_a_guideline_violation_goes_to_review_even_with_adaptive_overlap() -> None:
    class Violation:
        rule = "min_area"
        segment_id = "a1"
        bbox = (5, 5, 10, 10)
        message = "area 100 is below min_area 200"

    agreement = score_image({"a": [seg("a1", 5, 5)], "b": [seg("b1", 5, 5)]}, height=H, width=W)
    assessment = assess(agreement, violations={"a": [Violation()]}, k_max=3)
    (finding,) = assessment.findings
    assert finding.kind is FindingKind.GUIDELINE and finding.level is FindingLevel.IMAGE and finding.segment_id == "a1"
    assert "min_area" in finding.message
    assert assessment.verdict is Verdict.REVIEW


def test_gold_mismatch_names_the_annotator_below_gold_iou() -> None:
    gold = [seg("g1", 5, 5), seg("g2", 30, 30)]
    by = {"good": [seg("x1", 5, 5), seg("x2", 30, 30)], "bad": [seg("y1", 5, 5)]}
    findings = gold_findings(by, gold, height=H, width=W, gold_iou=0.8)
    assert [(f.kind, f.annotators) for f in findings] == [(FindingKind.GOLD_MISMATCH, ("bad",))]
    assert findings[0].severity == pytest.approx(0.5)


def test_staple_consensus_equals_majority_for_three_clean_raters() -> None:
    by = {"a": [seg("a1", 5, 5, 20, 20)], "b": [seg("b1", 5, 6, 20, 20)], "c": [seg("c1", 5, 5, 20, 20)]}
    agreement, _ = run(by, consensus_method="staple")
    assert masks.area(agreement.consensus[0].rle) == masks.area(majority_vote([s[0].rle for s in by.values()]))


def test_semantic_projects_group_by_class_and_report_kappa() -> None:
    left = seg("l", 0, 0, 32, 64, cat=1)
    right = seg("r", 32, 0, 32, 64, cat=2)
    shifted = [seg("l", 0, 0, 34, 64, cat=1), seg("r", 34, 0, 30, 64, cat=2)]
    agreement, _ = run({"a": [left, right], "b": [left, right], "c": shifted}, task="semantic")
    assert [g.members for g in agreement.groups] == [
        (("a", "l"), ("b", "l"), ("c", "l")),
        (("a", "r"), ("b", "r"), ("c", "r")),
    ]
    assert agreement.semantic is not None
    per_class = dict(agreement.semantic.per_class_iou)
    assert per_class[("a", "b")] == (1.0, 1.0)
    assert per_class[("a", "c")] == pytest.approx((32 / 34, 30 / 32))
    assert 0.9 < agreement.semantic.fleiss_kappa < 1.0


def test_instance_pq_between_annotators() -> None:
    by = {"a": [seg("a1", 5, 5), seg("a2", 40, 40)], "b": [seg("b1", 5, 5)]}
    agreement, _ = run(by)
    (pair,) = agreement.pairs
    assert (pair.tp, pair.fp, pair.fn) == (1, 0, 1)
    assert pair.pq == pytest.approx(1.0 / 1.5)


@pytest.mark.parametrize(
    ("options", "option", "field"),
    [
        ({"task": "panoptical"}, "task", "task"),
        ({"consensus_method": "average"}, "consensus_method", "consensus.method"),
        ({"match_iou": 1.5}, "match_iou", "match_iou"),
        ({"accept_iou": -0.1}, "accept_iou", "accept_iou"),
        ({"accept_boundary_iou": math.nan}, "accept_boundary_iou", "accept_boundary_iou"),
    ],
)
def test_bad_settings_name_the_option_and_what_it_got(options: dict[str, object], option: str, field: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        AgreementSettings(**options)  # type: ignore[arg-type]
    assert (info.value.option, info.value.field) == (option, field)
    assert f"got {next(iter(options.values()))!r}" in str(info.value)


# --- a shape dispute that measured reliability decides (consensus weighted / auto, at k_max) ---------------

RELIABLE = (("a", 1.0), ("b", 1.0), ("c", 0.05))  # c's boundary error is about 4.5 x the others'


def disputed(**options: object):  # type: ignore[no-untyped-def]
    """b missed the object; a's box is 10x10 and c's 10x14 over it (IoU 0.71 < accept_iou 0.75)."""
    settings: dict[str, object] = {
        "consensus_method": "auto",
        "annotator_weights": RELIABLE,
        "reliability_decides_at": 3,
        "k_max": 3,
    }
    settings.update(options)
    by = {"a": [seg("a1", 5, 5)], "b": [], "c": [seg("c1", 5, 5, 10, 14)]}
    return by, *run(by, **settings)


@pytest.mark.parametrize("method", ["auto", "weighted"])
def test_a_much_more_reliable_annotator_decides_a_disputed_shape_and_the_other_gets_feedback(method: str) -> None:
    by, agreement, assessment = disputed(consensus_method=method)
    (group,) = agreement.groups
    assert group.status is GroupStatus.SUPPORTED
    assert group.supporters == ("a",) and group.decided_by == "a" and group.category == 1
    assert agreement.consensus[0].rle == by["a"][0].rle  # a's boundary, c's left out
    assert kinds(assessment.findings) == [("missed", ("b",)), ("outlier_shape", ("c",))]
    outlier = next(f for f in assessment.findings if f.kind is FindingKind.OUTLIER_SHAPE)
    assert outlier.level is FindingLevel.ANNOTATOR and outlier.segment_id == "c1"
    assert "a's boundary" in outlier.message and "decided the disputed shape" in outlier.message
    assert outlier.severity == pytest.approx(1 - 100 / 140)
    missed = next(f for f in assessment.findings if f.kind is FindingKind.MISSED)
    assert missed.message == "b missed an object that 2 annotators drew"
    assert assessment.verdict is Verdict.ACCEPTED


@pytest.mark.parametrize(
    ("options", "verdict"),
    [
        ({"consensus_method": "majority"}, Verdict.REVIEW),  # majority rounds behave as before
        ({"consensus_method": "staple"}, Verdict.REVIEW),
        ({"annotator_weights": (("a", 1.0), ("b", 1.0), ("c", 0.5))}, Verdict.REVIEW),  # 2 x: cannot decide
        ({"annotator_weights": (("a", 1.0), ("b", 1.0))}, Verdict.REVIEW),  # c not measured
        ({"annotator_weights": (("a", 0.8), ("b", 1.0), ("c", 0.05))}, Verdict.REVIEW),  # a below the median
        ({"reliability_decides_at": None}, Verdict.REVIEW),
        ({"reliability_decides_at": 4, "k_max": 4}, Verdict.ESCALATE),  # one more annotator first
    ],
)
def test_a_shape_dispute_reliability_cannot_decide_stays_unsupported(options: dict, verdict: Verdict) -> None:
    _, agreement, assessment = disputed(**options)
    (group,) = agreement.groups
    assert group.status is GroupStatus.UNSUPPORTED and group.decided_by is None
    assert agreement.consensus == ()
    assert kinds(assessment.image_findings) == [("unsupported", ("a", "c"))]
    assert assessment.verdict is verdict


def test_reliability_does_not_decide_before_k_max_nor_for_one_drawing_nor_against_the_class_majority() -> None:
    settings = {"consensus_method": "auto", "annotator_weights": RELIABLE, "reliability_decides_at": 3, "k_max": 3}
    pair = {"a": [seg("a1", 5, 5)], "c": [seg("c1", 5, 5, 10, 14)]}  # two labels: escalation comes first
    agreement, assessment = run(pair, **settings)
    assert agreement.groups[0].status is GroupStatus.UNSUPPORTED and assessment.verdict is Verdict.ESCALATE
    alone = {"a": [seg("a1", 5, 5)], "b": [], "c": []}  # drawn by one of three: an extra, as before
    agreement, assessment = run(alone, **settings)
    assert agreement.groups[0].status is GroupStatus.ABSENT and kinds(assessment.findings) == [("extra", ("a",))]
    classes = {"a": [seg("a1", 5, 5, cat=1)], "b": [], "c": [seg("c1", 5, 5, 10, 14, cat=2)]}
    agreement, assessment = run(classes, **settings)
    assert agreement.groups[0].status is GroupStatus.UNSUPPORTED and assessment.verdict is Verdict.REVIEW


def test_reliability_decides_at_below_two_is_refused() -> None:
    with pytest.raises(InvalidOptionError) as info:
        AgreementSettings(reliability_decides_at=1)
    assert info.value.option == "reliability_decides_at"
