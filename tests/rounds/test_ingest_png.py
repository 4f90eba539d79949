"""PNG deliveries through the round ingest (issue 17 item 5): ``<annotator>/<image stem>.png``, read by the
project's task (class ids, guideline colours, instance ids with ``classes.json``), each PNG on its own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import rounds
from qc.core import ImageInfo
from qc.guideline import parse_guideline
from qc.rounds import FileIngest
from qc.store import api, db
from qc.store import models as m
from qc.store.rounds import list_people
from qc.store.submissions import latest_submissions, list_rejections
from tests.support.rounds import STREETS

SEMANTIC = STREETS
INSTANCE = """
version: "1"
name: coins
task: instance
classes:
  - {id: 1, name: coin, kind: thing, colour: "#d4a017"}
  - {id: 2, name: ring, kind: thing, colour: "#0000ff"}
routing: {k: 2}
"""
H, W = 6, 8
ROAD, CAR = (0x80, 0x80, 0x80), (0xFF, 0, 0)


def setup(engine: Engine, guideline: str) -> tuple[int, list[int]]:
    """Round ``r1`` of two 6 x 8 images (``img0.jpg``, ``img1.jpg``), both for ``ana`` and ``ben``."""
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(guideline))
        infos = [ImageInfo(i, f"img{i}.jpg", H, W) for i in range(2)]
        ids = [int(r.id or 0) for r in api.add_images(session, project_id=ref.project_id, images=infos)]
        result = rounds.schedule_round(session, project_id=ref.project_id, annotators=["ana", "ben"], seed=1)
    assert result.assignments == 4
    return result.round_id, ids


def save(path: Path, pixels: npt.NDArray[np.uint8]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def labels(rows: dict[int, tuple[slice, slice]], shape: tuple[int, int] = (H, W)) -> npt.NDArray[np.uint8]:
    """A label map: each value painted over its (rows, columns); later values over earlier ones."""
    out = np.zeros(shape, np.uint8)
    for value, where in rows.items():
        out[where] = value
    return out


def ingest(engine: Engine, round_id: int, folder: Path) -> dict[str, FileIngest]:
    with db.session_scope(engine) as session:
        found = rounds.ingest_folder(session, round_id=round_id, folder=folder)
    return {r.path.removeprefix(str(folder) + "/"): r for r in found}


def stored(engine: Engine, round_id: int) -> dict[tuple[str, int], tuple[str, int, list[tuple[int, int, int]]]]:
    """``(annotator, image id) -> (format, version, [(segment id in the file, class id, area)])`` of the latest
    submissions."""
    with db.session_scope(engine, write=False) as session:
        names = {p.id: p.name for p in list_people(session)}
        out = {}
        for ref in latest_submissions(session, round_id=round_id):
            row = session.get(m.Submission, ref.submission_id)
            assert row is not None
            rows = session.scalars(select(m.Segment).where(m.Segment.submission_id == ref.submission_id))
            segments = [(int(s.source_id), s.category_id, s.area) for s in rows]
            out[(names[ref.annotator_id], ref.image_id)] = (row.format, ref.version, sorted(segments))
    return out


def rejections(engine: Engine, round_id: int) -> list[tuple[str, str | None, str]]:
    """``(delivered file relative to the delivery folder, field, message)`` of every stored rejection."""
    with db.session_scope(engine, write=False) as session:
        rows = list_rejections(session, round_id=round_id)
        return [("/".join(Path(r.source_path).parts[-2:]), r.field, r.message) for r in rows]


# --- semantic: class values and guideline colours ---------------------------------------------------------


def test_class_value_pngs_of_two_annotators_are_stored_with_their_exact_areas(
    any_engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, two) = setup(any_engine, SEMANTIC)
    folder = tmp_path / "d"
    save(folder / "ana" / "img0.png", labels({1: (slice(0, 3), slice(None)), 2: (slice(1, 3), slice(0, 3))}))
    save(folder / "ana" / "img1.png", labels({1: (slice(None), slice(None))}))
    save(folder / "ben" / "img0.png", labels({1: (slice(0, 4), slice(None)), 2: (slice(4, 6), slice(6, 8))}))
    save(folder / "ben" / "img1.png", labels({2: (slice(0, 1), slice(0, 1))}))
    results = ingest(any_engine, round_id, folder)
    assert {path: (r.annotator, r.format, len(r.result.created)) for path, r in results.items()} == {
        "ana/img0.png": ("ana", "png_semantic", 1),
        "ana/img1.png": ("ana", "png_semantic", 1),
        "ben/img0.png": ("ben", "png_semantic", 1),
        "ben/img1.png": ("ben", "png_semantic", 1),
    }
    # segment id = class id; ana's img0: road rows 0-2 (24 px) minus the car's 2 x 3 block over rows 1-2
    assert stored(any_engine, round_id) == {
        ("ana", one): ("png_semantic", 1, [(1, 1, 18), (2, 2, 6)]),
        ("ana", two): ("png_semantic", 1, [(1, 1, 48)]),
        ("ben", one): ("png_semantic", 1, [(1, 1, 32), (2, 2, 4)]),
        ("ben", two): ("png_semantic", 1, [(2, 2, 1)]),
    }
    assert rejections(any_engine, round_id) == []


def test_rgb_pngs_are_read_by_the_guideline_colours_and_an_unknown_colour_is_refused_with_its_file(
    engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, two) = setup(engine, SEMANTIC)
    folder = tmp_path / "d"
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:2] = ROAD
    rgb[5, 5:] = CAR
    save(folder / "ana" / "img0.png", rgb)
    odd = rgb.copy()
    odd[3, :2] = (0x12, 0x34, 0x56)
    save(folder / "ana" / "img1.png", odd)
    results = ingest(engine, round_id, folder)
    assert [r.format for r in results.values()] == ["png_semantic", "png_semantic"]
    found = stored(engine, round_id)
    assert found[("ana", one)] == ("png_semantic", 1, [(1, 1, 16), (2, 2, 3)])
    assert found[("ana", two)] == ("png_semantic", 1, [(1, 1, 16), (2, 2, 3)])  # stored, but incomplete
    ((where, field, message),) = rejections(engine, round_id)
    assert (where, field) == ("ana/img1.png", "pixels")
    assert message.startswith("2 pixels have colour #123456, which is no class colour (#808080 class 1, #ff0000")
    assert results["ana/img1.png"].notes == (f"file {folder}/ana/img1.png, image {two}, field 'pixels': {message}",)
    with db.session_scope(engine, write=False) as session:
        complete = {ref.image_id: ref.complete for ref in latest_submissions(session, round_id=round_id)}
    assert complete == {one: True, two: False}  # the image that lost pixels waits for a complete delivery


# --- instance: ids and classes.json -----------------------------------------------------------------------


def test_instance_pngs_take_their_classes_from_the_annotators_classes_json(engine: Engine, tmp_path: Path) -> None:
    round_id, (one, two) = setup(engine, INSTANCE)
    folder = tmp_path / "d"
    ids = labels({1: (slice(0, 2), slice(0, 2)), 2: (slice(4, 5), slice(0, 3)), 7: (slice(5, 6), slice(6, 8))})
    save(folder / "ana" / "img0.png", ids)
    save(folder / "ana" / "img1.png", labels({3: (slice(0, 6), slice(0, 1))}))
    classes = {"img0": {"1": "coin", "2": 2, "7": "Ring"}, "img1": {"3": 1}}
    (folder / "ana" / "classes.json").write_text(json.dumps(classes))
    results = ingest(engine, round_id, folder)
    assert set(results) == {"ana/img0.png", "ana/img1.png"}  # classes.json is read with them, no file of its own
    assert {r.format for r in results.values()} == {"png_instance"}
    found = stored(engine, round_id)
    # segment id = instance id; a class by name (case aside) or by id
    assert found[("ana", one)] == ("png_instance", 1, [(1, 1, 4), (2, 2, 3), (7, 2, 2)])
    assert found[("ana", two)] == ("png_instance", 1, [(3, 1, 6)])
    assert rejections(engine, round_id) == []


def test_an_instance_without_a_known_class_is_refused_and_a_png_without_classes_is_refused_whole(
    engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, _) = setup(engine, INSTANCE)
    folder = tmp_path / "d"
    save(folder / "ana" / "img0.png", labels({1: (slice(0, 2), slice(0, 2)), 2: (slice(3, 4), slice(None))}))
    save(folder / "ana" / "img1.png", labels({1: (slice(0, 1), slice(0, 1))}))
    (folder / "ana" / "classes.json").write_text(json.dumps({"img0": {"1": "coin", "2": "dog"}}))
    save(folder / "ben" / "img0.png", labels({5: (slice(0, 1), slice(0, 1))}))
    results = ingest(engine, round_id, folder)
    assert results["ana/img0.png"].refused is None and results["ana/img0.png"].reader_rejections == 1
    assert stored(engine, round_id) == {("ana", one): ("png_instance", 1, [(1, 1, 4)])}
    refused = {path: (r.annotator, r.field, r.refused) for path, r in results.items() if r.refused}
    assert set(refused) == {"ana/img1.png", "ben/img0.png"}
    assert refused["ana/img1.png"][:2] == ("ana", "classes.json")
    assert f"{folder}/ana/classes.json has no entry 'img1'" in (refused["ana/img1.png"][2] or "")
    assert refused["ben/img0.png"][:2] == ("ben", "classes.json")
    needs = "an instance PNG needs its instances' classes: add classes.json beside it"
    assert needs in (refused["ben/img0.png"][2] or "")
    kept = rejections(engine, round_id)
    assert ("ana/classes.json", "img0.2") in [(where, field) for where, field, _ in kept]
    (dog,) = [message for where, _, message in kept if where == "ana/classes.json"]
    assert dog.startswith("instance 2's label 'dog' is not one of the project's classes ('coin', 'ring')")
    assert len(kept) == 3  # the dog, and the two PNGs refused whole


# --- refusals: each PNG on its own ------------------------------------------------------------------------


def test_an_unknown_value_and_a_wrong_size_are_refused_with_file_and_field_while_the_others_are_stored(
    any_engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, two) = setup(any_engine, SEMANTIC)
    folder = tmp_path / "d"
    save(folder / "ana" / "img0.png", labels({1: (slice(0, 2), slice(None)), 9: (slice(5, 6), slice(0, 5))}))
    save(folder / "ana" / "img1.png", labels({1: (slice(None), slice(None))}, shape=(W, H)))  # rotated: 8 x 6
    save(folder / "ben" / "img0.png", labels({2: (slice(0, 2), slice(0, 2))}))
    save(folder / "ben" / "img1.png", labels({1: (slice(0, 1), slice(None))}))
    results = ingest(any_engine, round_id, folder)
    assert all(r.refused is None for r in results.values())
    assert {path: r.reader_rejections for path, r in results.items()} == {
        "ana/img0.png": 1,
        "ana/img1.png": 1,
        "ben/img0.png": 0,
        "ben/img1.png": 0,
    }
    assert stored(any_engine, round_id) == {
        ("ana", one): ("png_semantic", 1, [(1, 1, 16)]),  # stored incomplete: 5 pixels of value 9 were refused
        ("ben", one): ("png_semantic", 1, [(2, 2, 4)]),
        ("ben", two): ("png_semantic", 1, [(1, 1, 8)]),
    }
    kept = {(where, field): message for where, field, message in rejections(any_engine, round_id)}
    assert set(kept) == {("ana/img0.png", "pixels"), ("ana/img1.png", "size")}
    assert kept[("ana/img0.png", "pixels")].startswith("5 pixels have value 9, which the class map does not map")
    assert kept[("ana/img1.png", "size")].startswith("the PNG is 8x6 (height x width) but the image is 6x8")
    with db.session_scope(any_engine, write=False) as session:
        status = rounds.round_status(session, round_id=round_id)
        lost = {(r.image_id, r.annotator, r.submission_id is None, r.fields) for r in status.rejections}
    # each tied to its image, so the status says what ana still owes
    assert lost == {(one, "ana", False, ("pixels",)), (two, "ana", True, ("size",))}


def test_a_png_named_after_no_image_is_refused_naming_it_and_misplaced_files_are_refused(
    engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, _) = setup(engine, SEMANTIC)
    folder = tmp_path / "d"
    save(folder / "ana" / "img0.png", labels({1: (slice(0, 1), slice(None))}))
    save(folder / "ana" / "img9.png", labels({1: (slice(0, 1), slice(None))}))
    (folder / "ana" / "classes.json").write_text("{}")
    save(folder / "img1.png", labels({1: (slice(0, 1), slice(None))}))
    results = ingest(engine, round_id, folder)
    assert results["ana/img0.png"].refused is None and len(results["ana/img0.png"].result.created) == 1
    refused = {path: (r.field, r.refused or "") for path, r in results.items() if r.refused}
    assert set(refused) == {"ana/img9.png", "ana/classes.json", "img1.png"}
    field, reason = refused["ana/img9.png"]
    assert field == "file_name"
    assert "the name 'img9' is no image of the round (2 images: 'img0.jpg', 'img1.jpg')" in reason
    assert "a semantic label PNG holds class ids" in refused["ana/classes.json"][1]
    assert "<delivery folder>/<annotator>/<image stem>.png" in refused["img1.png"][1]
    assert results["ana/img9.png"].annotator == "ana"
    assert len(rejections(engine, round_id)) == 3
    assert set(stored(engine, round_id)) == {("ana", one)}


# --- idempotence ------------------------------------------------------------------------------------------


def test_the_same_pngs_again_store_nothing_and_a_changed_png_or_classes_entry_a_new_version_of_its_image(
    engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, two) = setup(engine, INSTANCE)
    folder = tmp_path / "d"
    for name in ("ana", "ben"):
        save(folder / name / "img0.png", labels({1: (slice(0, 2), slice(0, 2))}))
        save(folder / name / "img1.png", labels({1: (slice(0, 3), slice(0, 3)), 2: (slice(5, 6), slice(None))}))
        (folder / name / "classes.json").write_text(json.dumps({"img0": {"1": 1}, "img1": {"1": 1, "2": "ring"}}))
    save(folder / "ben" / "img9.png", labels({1: (slice(0, 1), slice(0, 1))}))  # refused: no such image
    first = ingest(engine, round_id, folder)
    assert sum(len(r.result.created) for r in first.values()) == 4
    before = (stored(engine, round_id), rejections(engine, round_id))
    again = ingest(engine, round_id, folder)
    assert all(r.result.created == () and r.result.event_id is None for r in again.values())
    assert again["ben/img9.png"].refused == first["ben/img9.png"].refused  # refused again, not stored twice
    assert (stored(engine, round_id), rejections(engine, round_id)) == before
    save(folder / "ana" / "img0.png", labels({1: (slice(0, 2), slice(0, 3))}))  # ana redraws img0
    (folder / "ben" / "classes.json").write_text(json.dumps({"img0": {"1": 1}, "img1": {"1": 2, "2": "ring"}}))
    third = ingest(engine, round_id, folder)
    assert {path: len(r.result.created) for path, r in third.items() if r.result.created} == {
        "ana/img0.png": 1,
        "ben/img1.png": 1,
    }
    after = stored(engine, round_id)
    assert after[("ana", one)] == ("png_instance", 2, [(1, 1, 6)])
    assert after[("ben", two)] == ("png_instance", 2, [(1, 2, 9), (2, 2, 8)])
    assert after[("ana", two)][1] == after[("ben", one)][1] == 1


def test_a_broken_classes_json_refuses_the_instance_pngs_it_classes_and_no_others(
    engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, two) = setup(engine, INSTANCE)
    folder = tmp_path / "d"
    for name in ("ana", "ben"):
        save(folder / name / "img0.png", labels({1: (slice(0, 2), slice(0, 2))}))
        save(folder / name / "img1.png", labels({1: (slice(0, 1), slice(0, 1))}))
    (folder / "ana" / "classes.json").write_text('{"img0": {"1": "coin"}')  # cut short
    (folder / "ben" / "classes.json").write_text(json.dumps({"img0": {"1": "coin"}, "img1": {"1": "ring"}}))
    results = ingest(engine, round_id, folder)
    refused = {path: (r.annotator, r.field, r.refused or "") for path, r in results.items() if r.refused}
    assert set(refused) == {"ana/img0.png", "ana/img1.png"}
    for annotator, field, reason in refused.values():
        assert (annotator, field) == ("ana", "classes.json")
        assert reason.startswith(f"{folder}/ana/classes.json cannot be read: ")
    assert stored(engine, round_id) == {
        ("ben", one): ("png_instance", 1, [(1, 1, 4)]),
        ("ben", two): ("png_instance", 1, [(1, 2, 1)]),
    }


def test_a_broken_classes_json_beside_semantic_pngs_is_refused_as_theirs_and_blocks_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    round_id, (one, _) = setup(engine, SEMANTIC)
    folder = tmp_path / "d"
    save(folder / "ana" / "img0.png", labels({2: (slice(0, 1), slice(0, 3))}))
    (folder / "ana" / "classes.json").write_bytes(b"\xff\xfe{")
    results = ingest(engine, round_id, folder)
    assert results["ana/img0.png"].refused is None
    assert (results["ana/classes.json"].annotator, results["ana/classes.json"].field) == ("ana", "file_name")
    assert stored(engine, round_id) == {("ana", one): ("png_semantic", 1, [(2, 2, 3)])}
