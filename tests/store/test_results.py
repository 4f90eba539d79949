"""qc.store.results: scores and flags stored from create-models, and read back."""

from __future__ import annotations

import math

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc.core import ImageInfo
from qc.errors import InvalidOptionError
from qc.store import api, db
from qc.store import models as m
from qc.store.results import (
    FlagCreate,
    FlagRef,
    ScoreCreate,
    ScoreRef,
    annotator_scores,
    image_results_of,
    round_flags,
    save_image_result,
)


@pytest.mark.parametrize(
    ("score", "columns"),
    [
        # NaN (undefined) is stored as NULL
        (ScoreCreate("pair", (1, 2), "pq", math.nan), {"value": None, "detail": None}),
        (ScoreCreate("image", (1,), "mean_group_iou"), {"value": None, "detail": None}),
        # an empty detail is no detail
        (ScoreCreate("group", (1, 2), "min_iou", 0.5, 3, {}), {"value": 0.5, "detail": None, "category_id": 3}),
        (ScoreCreate("annotator", (2,), "loo_iou", 1, None, {"objects": 2}), {"value": 1.0, "detail": {"objects": 2}}),
    ],
)
def test_score_columns(score: ScoreCreate, columns: dict[str, object]) -> None:
    got = score.columns()
    assert got["annotators"] == list(score.annotators) and got["kind"] == score.kind
    assert {key: got[key] for key in columns} == columns


def test_flag_columns_split_the_bbox() -> None:
    flag = FlagCreate("missed", "annotator", (1, 2, 3, 4), (5,), category_id=1, severity=0.5, message="m")
    assert flag.columns() == {
        "kind": "missed",
        "level": "annotator",
        "category_id": 1,
        "bbox_x": 1,
        "bbox_y": 2,
        "bbox_w": 3,
        "bbox_h": 4,
        "annotators": [5],
        "severity": 0.5,
        "message": "m",
    }
    assert FlagCreate("guideline", "image").columns()["bbox_x"] is None


def test_bad_score_kinds_and_flag_levels_are_refused() -> None:
    with pytest.raises(InvalidOptionError, match="kind must be one of pair, group, image, annotator, round; got 'x'"):
        ScoreCreate("x", (), "m")
    with pytest.raises(InvalidOptionError, match="level must be one of image, annotator; got 'loud'"):
        FlagCreate("missed", "loud")


def test_scores_and_flags_are_stored_and_read_back(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        project_id = api.create_project(session, name="p", task_type="instance").id or 0
        images = [r.id or 0 for r in api.add_images(session, project_id=project_id, images=[ImageInfo(1, "a", 4, 4)])]
        ann, bob = (api.add_person(session, name=n, roles=["annotator"]).id or 0 for n in ("ann", "bob"))
        round_id = api.create_round(session, project_id=project_id).id or 0
        scores = [
            ScoreCreate("annotator", (ann,), "loo_iou", 0.75),
            ScoreCreate("annotator", (bob,), "loo_iou", math.nan),
            ScoreCreate("pair", (ann, bob), "pq", 0.5),
        ]
        flags = [FlagCreate("extra", "annotator", (0, 0, 2, 2), (bob,)), FlagCreate("unsupported", "image")]
        stored = save_image_result(
            session,
            round_id=round_id,
            image_id=images[0],
            input_hash="h",
            verdict="review",
            labels_spent=2,
            summary={},
            scores=scores,
            flags=flags,
        )
        assert stored
        assert sorted(annotator_scores(session, round_id=round_id), key=lambda s: s.annotators) == [
            ScoreRef((ann,), "loo_iou", 0.75),
            ScoreRef((bob,), "loo_iou", None),
        ]
        assert sorted(round_flags(session, round_id=round_id), key=lambda f: f.kind) == [
            FlagRef("extra", (bob,)),
            FlagRef("unsupported", ()),
        ]
        results = image_results_of(session, round_id=round_id, image_ids=[images[0], images[0] + 1])
        assert list(results) == [images[0]] and results[images[0]].verdict == "review"
        (flag,) = session.scalars(select(m.Flag).where(m.Flag.kind == "extra")).all()
        assert (flag.bbox_x, flag.bbox_y, flag.bbox_w, flag.bbox_h, flag.annotators) == (0, 0, 2, 2, [bob])
