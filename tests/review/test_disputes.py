"""Disputes and per-dispute resolutions: the accepted label pixel for pixel with provenance, class conflicts,
two reviewers on one dispute, roles, bad resolutions, image-level decisions (on a SQLite file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import masks, review
from qc.errors import ConflictError, InvalidOptionError, PermissionDeniedError
from qc.review import Resolution
from qc.store import db
from qc.store import models as m
from qc.store.api import add_person, list_events
from qc.store.segments import consensus_provenance
from tests.support.disputes import DisputedRound, disputed_round
from tests.support.rounds import H, W, rect


def _box(x: int, y: int, w: int = 12, h: int = 12) -> np.ndarray:
    grid = np.zeros((H, W), bool)
    grid[y : y + h, x : x + w] = True
    return grid


def _claim(engine: Engine, reviewer: int) -> review.Claim:
    with db.session_scope(engine) as session:
        held = review.claim(session, reviewer_id=reviewer)
    assert held is not None
    return held


def _views(engine: Engine, built: DisputedRound, viewer: str = "rita") -> list[review.DisputeView]:
    with db.session_scope(engine, write=False) as session:
        return review.dispute_views(session, built.item_id, built.people[viewer])


@pytest.fixture
def built(sqlite_engine: Engine, tmp_path: Path) -> DisputedRound:
    return disputed_round(sqlite_engine, tmp_path / "deliveries")


def test_close_stores_one_dispute_per_object_with_versions_fused_candidate_and_ious(
    sqlite_engine: Engine, built: DisputedRound
) -> None:
    views = _views(sqlite_engine, built)
    assert [(d.index, d.kind, d.category, d.bbox) for d in views] == [
        (1, "unsupported", "box", (2, 40, 15, 12)),
        (2, "unsupported", "box", (40, 2, 16, 12)),
        (3, "class_conflict", "box", (30, 40, 12, 12)),
    ]
    first, second, third = views
    assert [v.annotator for v in first.versions] == ["ann", "bob", "cy"]
    assert first.drawn_by == ("ann", "bob") and first.versions[2].rle is None and first.versions[2].segment_id is None
    assert first.pairwise_iou == (("ann", "bob", pytest.approx(0.6)),)
    assert first.fused_rle is not None and first.versions[0].rle is not None
    # two versions: their shape average (as the consensus fuses two), between their intersection and their union:
    # the middle box x 3..15, its four corners rounded off, not the union x 2..16
    fused = masks.decode(first.fused_rle)
    assert not (_box(2, 40) & _box(5, 40) & ~fused).any() and not (fused & ~(_box(2, 40) | _box(5, 40))).any()
    assert masks.bbox(first.fused_rle) == (3, 40, 13, 12) and int(fused.sum()) == 13 * 12 - 4
    np.testing.assert_array_equal(masks.decode(first.versions[0].rle), _box(2, 40))
    assert second.fused_rle is not None
    np.testing.assert_array_equal(masks.decode(second.fused_rle), _box(42, 2))  # majority of three = bob's
    assert [round(v.iou_to_fused or 0, 3) for v in second.versions] == [0.714, 1.0, 0.714]
    assert {(a, b): round(iou, 3) for a, b, iou in second.pairwise_iou} == {
        ("ann", "bob"): 0.714,
        ("ann", "cy"): 0.5,
        ("bob", "cy"): 0.714,
    }
    assert [v.category for v in third.versions] == ["box", "disc", None]
    assert "not the class" in third.reason and all(d.resolution is None for d in views)


def test_take_fused_remove_store_the_expected_label_pixel_for_pixel_with_provenance(
    sqlite_engine: Engine, built: DisputedRound
) -> None:
    rita, ann, bob, cy = (built.people[n] for n in ("rita", "ann", "bob", "cy"))
    first, second, third = _views(sqlite_engine, built)
    held = _claim(sqlite_engine, rita)
    with db.session_scope(sqlite_engine) as session:
        done = review.resolve(
            session,
            built.item_id,
            rita,
            held.version,
            {
                first.id: Resolution("take", person_id=ann),
                second.id: Resolution("fused"),
                third.id: Resolution("remove"),
            },
        )
    assert (done.kind, done.status, done.rework_round_id) == ("resolve", "decided", None)
    with db.session_scope(sqlite_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
        result = session.scalars(select(m.ImageResult)).one()
        events = list_events(session, verb="decide", object_type="review_item", object_id=built.item_id)
    got = [
        (s.source, s.supporters, s.chosen_by, s.dispute_id, s.segment.category_id, masks.decode(s.segment.rle))
        for s in label
    ]
    expected = [
        ("consensus", (ann, bob, cy), None, None, 1, _box(2, 2)),
        ("annotator", (ann,), rita, first.id, 1, _box(2, 40)),
        ("fused", (ann, bob, cy), rita, second.id, 1, _box(42, 2)),
    ]
    assert [g[:5] for g in got] == [e[:5] for e in expected]
    for (*_, mask), (*_, want) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mask, want)
    assert result.verdict == "accepted"
    assert result.summary is not None and result.summary["review"]["removed"] == [{"dispute": 3, "by": rita}]
    assert [e.payload["kind"] for e in events] == ["resolve"]
    resolved = _views(sqlite_engine, built)
    assert [(d.resolution.kind, d.resolution.person, d.resolution.reviewer) for d in resolved if d.resolution] == [
        ("take", "ann", "rita"),
        ("fused", None, "rita"),
        ("remove", None, "rita"),
    ]


def test_a_class_conflict_resolved_by_choosing_the_class_keeps_the_fused_shape(
    sqlite_engine: Engine, built: DisputedRound
) -> None:
    rita = built.people["rita"]
    first, second, third = _views(sqlite_engine, built)
    held = _claim(sqlite_engine, rita)
    choices = {
        first.id: Resolution("remove"),
        second.id: Resolution("remove"),
        third.id: Resolution("set_class", category_id=2),
    }
    with db.session_scope(sqlite_engine) as session:
        review.resolve(session, built.item_id, rita, held.version, choices)
    with db.session_scope(sqlite_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
    assert [(s.source, s.segment.category_id, s.dispute_id) for s in label] == [
        ("consensus", 1, None),
        ("class_set", 2, third.id),
    ]
    np.testing.assert_array_equal(masks.decode(label[1].segment.rle), _box(30, 40))


def test_two_reviewers_on_one_dispute_one_wins_and_the_other_is_told_who_resolved_it(
    sqlite_engine: Engine, built: DisputedRound
) -> None:
    rita = built.people["rita"]
    with db.session_scope(sqlite_engine) as session:
        lead = int(add_person(session, name="lena", roles=["lead"]).id or 0)
    first, second, third = _views(sqlite_engine, built)
    held = _claim(sqlite_engine, rita)
    escalate = {first.id: Resolution("escalate", note="is a half box an object?")}
    with db.session_scope(sqlite_engine) as session:
        review.resolve(
            session,
            built.item_id,
            rita,
            held.version,
            {**escalate, second.id: Resolution("fused"), third.id: Resolution("set_class", category_id=1)},
        )
    lead_claim = _claim(sqlite_engine, lead)  # the lead takes the escalated item back
    with db.session_scope(sqlite_engine) as session, pytest.raises(ConflictError) as refused:
        review.resolve(session, built.item_id, lead, lead_claim.version, {second.id: Resolution("remove")})
    message = str(refused.value)
    assert "dispute 2" in message and "resolved already by rita (fused)" in message and " at 20" in message
    with db.session_scope(sqlite_engine) as session:
        done = review.resolve(session, built.item_id, lead, lead_claim.version, {first.id: Resolution("fused")})
    assert done.status == "decided"
    assert [d.resolution.reviewer for d in _views(sqlite_engine, built) if d.resolution] == ["lena", "rita", "rita"]


def test_a_stale_version_is_a_conflict_and_nothing_is_stored(sqlite_engine: Engine, built: DisputedRound) -> None:
    rita = built.people["rita"]
    views = _views(sqlite_engine, built)
    held = _claim(sqlite_engine, rita)
    every = {d.id: Resolution("remove") for d in views}
    with db.session_scope(sqlite_engine) as session, pytest.raises(ConflictError, match="changed since your claim"):
        review.resolve(session, built.item_id, rita, held.version - 1, every)
    assert all(d.resolution is None for d in _views(sqlite_engine, built))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        # every dispute needs a resolution
        (lambda v, p: {v[0].id: Resolution("remove")}, r"disputes \[2, 3\] of review item \d+ left open"),
        # cy did not draw dispute 1
        (lambda v, p: {**_rest(v), v[0].id: Resolution("take", person_id=p["cy"])}, "person of dispute 1"),
        (lambda v, p: {**_rest(v), v[0].id: Resolution("set_class", category_id=9)}, "class of dispute 1"),
        (lambda v, p: {**_rest(v), v[0].id: Resolution("rework")}, "note of dispute 1"),
        (
            lambda v, p: {**_rest(v), v[0].id: Resolution("keep")},
            r"resolution of dispute 1 \(id \d+\) must be one of take",
        ),
        (lambda v, p: {**_rest(v), 99_999: Resolution("remove")}, "keyed by dispute ids"),
    ],
)
def test_a_bad_resolution_names_the_dispute_and_stores_nothing(
    sqlite_engine: Engine, built: DisputedRound, make: object, match: str
) -> None:
    rita = built.people["rita"]
    views = _views(sqlite_engine, built)
    held = _claim(sqlite_engine, rita)
    with db.session_scope(sqlite_engine) as session, pytest.raises(InvalidOptionError, match=match):
        review.resolve(session, built.item_id, rita, held.version, make(views, built.people))  # type: ignore[operator]
    assert all(d.resolution is None for d in _views(sqlite_engine, built))


def _rest(views: list[review.DisputeView]) -> dict[int, Resolution]:
    return {d.id: Resolution("remove") for d in views}


def test_roles_annotators_read_only_images_they_annotated_and_reviewers_never_their_own(
    sqlite_engine: Engine, built: DisputedRound, tmp_path: Path
) -> None:
    with db.session_scope(sqlite_engine) as session:
        outsider = int(add_person(session, name="oz", roles=["annotator"]).id or 0)
        manager = int(add_person(session, name="max", roles=["manager"]).id or 0)
    assert len(_views(sqlite_engine, built, "ann")) == 3  # ann annotated the image
    with db.session_scope(sqlite_engine, write=False) as session:
        for person in (outsider, manager):
            with pytest.raises(PermissionDeniedError, match="may not read the disputes"):
                review.dispute_views(session, built.item_id, person)
    with db.session_scope(sqlite_engine) as session:  # bob becomes a reviewer too: still not of his own image
        bob = session.get(m.Person, built.people["bob"])
        assert bob is not None
        bob.roles = ["annotator", "reviewer"]
        session.add(bob)
    with db.session_scope(sqlite_engine, write=False) as session:
        with pytest.raises(PermissionDeniedError, match="never reviews their own work"):
            review.dispute_views(session, built.item_id, built.people["bob"])
        assert review.claim(session, reviewer_id=built.people["bob"]) is None
        held = review.claim(session, reviewer_id=built.people["rita"])
        assert held is not None
        views = review.dispute_views(session, built.item_id, built.people["rita"])
        with pytest.raises(PermissionDeniedError, match="never reviews their own work"):
            review.resolve(session, built.item_id, built.people["bob"], held.version, _rest(views))


def test_accept_consensus_on_an_item_with_disputes_takes_the_fused_version_of_each(
    sqlite_engine: Engine, built: DisputedRound
) -> None:
    rita = built.people["rita"]
    held = _claim(sqlite_engine, rita)
    with db.session_scope(sqlite_engine) as session:
        review.decide(session, built.item_id, reviewer_id=rita, version=held.version, kind="accept_consensus")
    with db.session_scope(sqlite_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
    assert [s.source for s in label] == ["consensus", "fused", "fused", "fused"]
    assert [d.resolution.kind for d in _views(sqlite_engine, built) if d.resolution] == ["fused"] * 3
    np.testing.assert_array_equal(masks.decode(label[2].segment.rle), masks.decode(rect(42, 2)))


def test_resolving_on_sqlite_and_postgresql_stores_the_same_label(review_engine: Engine, tmp_path: Path) -> None:
    built = disputed_round(review_engine, tmp_path / "deliveries")
    first, second, third = _views(review_engine, built)
    held = _claim(review_engine, built.people["rita"])
    choose = {first.id: Resolution("fused"), second.id: Resolution("take", person_id=built.people["cy"])}
    with db.session_scope(review_engine) as session:
        review.resolve(
            session, built.item_id, built.people["rita"], held.version, {**choose, third.id: Resolution("remove")}
        )
    with db.session_scope(review_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
    assert [s.source for s in label] == ["consensus", "fused", "annotator"]
    assert first.fused_rle is not None
    np.testing.assert_array_equal(masks.decode(label[1].segment.rle), masks.decode(first.fused_rle))
    assert masks.bbox(label[1].segment.rle) == (3, 40, 13, 12)  # the shape average of ann's and bob's boxes
    np.testing.assert_array_equal(masks.decode(label[2].segment.rle), _box(44, 2))


def test_a_guideline_dispute_on_a_supported_object_replaces_its_consensus_segment(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    two = [(1, (5, 5)), (1, (10, 10))]  # every annotator's two boxes overlap: a guideline violation each
    built = disputed_round(sqlite_engine, tmp_path / "d", {"ann": two, "bob": two, "cy": [(1, (5, 5)), (1, (11, 10))]})
    (only,) = _views(sqlite_engine, built)
    assert (only.kind, only.bbox, only.drawn_by) == ("guideline", (5, 5, 12, 12), ("ann", "bob", "cy"))
    assert only.reason.count("overlap") == 3  # the three findings on one object make one dispute
    held = _claim(sqlite_engine, built.people["rita"])
    with db.session_scope(sqlite_engine) as session:
        review.resolve(
            session,
            built.item_id,
            built.people["rita"],
            held.version,
            {only.id: Resolution("take", person_id=built.people["cy"])},
        )
    with db.session_scope(sqlite_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
    assert [(s.source, s.dispute_id) for s in label] == [("consensus", None), ("annotator", only.id)]
    np.testing.assert_array_equal(masks.decode(label[0].segment.rle), _box(10, 10))
    np.testing.assert_array_equal(masks.decode(label[1].segment.rle), _box(5, 5))


def test_accept_submission_records_each_dispute_and_gives_the_label_that_annotator_as_source(
    sqlite_engine: Engine, built: DisputedRound
) -> None:
    rita, cy = built.people["rita"], built.people["cy"]
    held = _claim(sqlite_engine, rita)
    with db.session_scope(sqlite_engine) as session:
        item = session.get(m.ReviewItem, built.item_id)
        assert item is not None
        submission = review.item_submissions(session, item)[cy]
        review.decide(
            session,
            built.item_id,
            reviewer_id=rita,
            version=held.version,
            kind="accept_submission",
            submission_id=submission,
        )
    with db.session_scope(sqlite_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
    assert [(s.source, s.supporters, s.chosen_by) for s in label] == [("annotator", (cy,), rita)] * 2
    resolved = [(d.resolution.kind, d.resolution.person) for d in _views(sqlite_engine, built) if d.resolution]
    assert resolved == [("remove", None), ("take", "cy"), ("remove", None)]  # cy drew only the second
