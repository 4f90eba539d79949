"""A model as an annotator: agreement with the model, automation rate, and the round workflow around them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import masks, rounds
from qc.automation import automation_rate, model_agreement
from qc.core import Segment
from qc.formats import cvat, labelstudio
from qc.store import db
from qc.store import models as m
from qc.store.segments import consensus_segments
from tests.support.rounds import H, W, deliver_all, engine, rect, setup_round

__all__ = ["engine"]  # the fixture, imported


def seg(segment_id: int, x: int, y: int, category: int = 1, size: int = 12) -> Segment:
    return Segment(segment_id, category, rect(x, y, size, size))


@pytest.mark.parametrize(
    ("human", "model", "expected"),
    [
        ([], [], 1.0),  # both empty: they agree there is nothing
        ([seg(1, 5, 5)], [], 0.0),  # one empty
        ([], [seg(1, 5, 5)], 0.0),
        ([seg(1, 5, 5)], [seg(2, 5, 5)], 1.0),
        ([seg(1, 5, 5)], [seg(2, 5, 5), seg(3, 40, 40)], 0.5),  # the model's extra box counts as a miss
        ([seg(1, 5, 5)], [seg(2, 5, 5, category=2)], 0.0),  # other class: no match
        ([seg(1, 0, 0)], [seg(2, 0, 0, size=10)], 100 / 144),  # one match, IoU 100/144
    ],
)
def test_model_agreement(human: list[Segment], model: list[Segment], expected: float) -> None:
    result = model_agreement(human, model, human="ann", model="net")
    assert result.mean_iou == pytest.approx(expected)
    assert result.to_dict()["mean_iou"] == pytest.approx(expected)


def test_automation_rate() -> None:
    assert math.isnan(automation_rate([], [seg(1, 5, 5)]).rate)  # no model instance: nothing to automate
    assert automation_rate([seg(1, 5, 5)], []).rate == 0.0
    kept = automation_rate([seg(1, 0, 0), seg(2, 40, 40)], [seg(9, 0, 0), seg(8, 40, 40, size=10)], accept_iou=0.8)
    assert (kept.model_instances, kept.accepted, kept.rate) == (2, 1, 0.5)  # 100/144 < 0.8: changed by humans


def test_model_is_scored_but_does_not_vote(engine: Engine, tmp_path: Path) -> None:
    round_id, (image, other) = setup_round(engine)
    deliver_all(engine, round_id, [image, other], {image: [(5, 5)], other: [(20, 20)]}, tmp_path / "d1")
    box = masks.encode(masks.decode(rect(5, 5)))
    extra = masks.encode(masks.decode(rect(40, 40)))
    predictions = [
        {"image_id": image, "category_id": 1, "segmentation": box, "score": 0.95},
        {"image_id": image, "category_id": 1, "segmentation": extra, "score": 0.9},
        {"image_id": image, "category_id": 1, "segmentation": extra, "score": 0.2},  # below min_score
    ]
    (tmp_path / "net.json").write_text(json.dumps(predictions))
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d1")
        (model_ingest,) = rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "net.json", model="net")
        assert model_ingest.format == "coco-results" and model_ingest.result.segments == 2
        net = session.scalars(select(m.Person).where(m.Person.name == "net")).one()
        assert net.roles == ["model"]
        outcomes = {o.image_id: o for o in rounds.score_images(session, round_id=round_id, image_ids=[image, other])}
    # the model's extra box would make the image disagree if it voted; it does not
    assert outcomes[image].verdict == "accepted" and outcomes[image].labels == 2
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(m.Score.kind, m.Score.annotators, m.Score.value).where(
                m.Score.round_id == round_id,
                m.Score.metric.in_(["model_iou", "automation_rate"]),  # type: ignore[attr-defined]
            )
        ).all()
    model_iou = sorted(v for k, a, v in rows if k == "pair")
    assert model_iou == pytest.approx([0.5, 0.5])  # each human: 1 match (IoU 1) + the model's extra box
    assert [(a, v) for k, a, v in rows if k == "annotator"] == [([net.id], 0.5)]  # 1 of 2 model boxes kept


def test_export_for_tool_round_trips(engine: Engine, tmp_path: Path) -> None:
    round_id, (image, other) = setup_round(engine)
    boxes = {image: [(5, 5)], other: [(20, 20), (40, 3)]}
    people = deliver_all(engine, round_id, [image, other], boxes, tmp_path / "d1")
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d1")
        rounds.score_images(session, round_id=round_id, image_ids=[image, other])
        expected = {
            i: [s.rle for s in consensus_segments(session, round_id=round_id, image_id=i)] for i in (image, other)
        }
        rounds.export_for_tool(session, round_id=round_id, path=tmp_path / "out.xml", format="cvat-xml")
        rounds.export_for_tool(session, round_id=round_id, path=tmp_path / "out.json", format="labelstudio")
        annotator = people[other][0]
        rounds.export_for_tool(
            session, round_id=round_id, path=tmp_path / "mine.xml", format="cvat-xml", annotator=annotator
        )
    xml = cvat.read_cvat_xml(tmp_path / "out.xml")
    by_name = {info.file_name: key for key, info in xml.images.items()}
    assert len(xml.segments) == 3 and xml.rejections == []
    (ls,) = labelstudio.read_labelstudio(tmp_path / "out.json", predictions=True)
    for image_id, rles in expected.items():
        name = f"img{image_id - 1}.png"
        from_xml = [s.rle for i, s in xml.segments if i == by_name[name]]
        from_ls = [s.rle for i, s in ls.segments if i == image_id]
        for got in (from_xml, from_ls):
            assert [np.array_equal(masks.decode(a), masks.decode(b)) for a, b in zip(got, rles, strict=True)] == [
                True
            ] * len(rles)
    mine = cvat.read_cvat_xml(tmp_path / "mine.xml")
    assert len(mine.segments) == 2 and all(s.rle["size"] == [H, W] for _, s in mine.segments)
