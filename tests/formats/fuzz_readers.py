"""Hypothesis fuzzing of every reader with malformed and hostile documents (see ``EXAMPLES``: 2,890 in all).

Each example starts from a valid file and mutates it: keys dropped, values swapped for
other JSON types, NaN/Infinity injected, ids duplicated, RLEs broken, bytes flipped or
the file truncated, and every number of a part of it (coordinates and declared sizes)
swapped for a huge, negative, NaN or infinite one; PNGs may declare a huge size. Whatever
comes in: no exception other than a ``QCError`` escapes, every rejection names its file
and says something, and every returned segment has a valid RLE of its image's size with
at least one pixel.

Not collected by pytest: ``tests/formats/test_fuzz.py`` runs each ``fuzz_*`` function in a
child process with a memory ceiling, so a crash (SIGSEGV) or a memory bomb fails that test
instead of killing the test run.
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from qc.core import Category, ImageInfo
from qc.formats import (
    cvat,
    labelme,
    labelstudio,
    read_coco_results,
    read_cvat_coco,
    read_instance_png,
    read_instances,
    read_panoptic,
    read_semantic_png,
)
from qc.formats.png_delivery import ClassesFile, read_delivered_png
from tests.formats import hostile_docs as docs
from tests.formats.docs import coco_doc, panoptic_doc, panoptic_labels, save_rgb_ids
from tests.formats.fuzz_docs import file_bytes, mutated, run, run_all

EXAMPLES = {
    "coco": 600,
    "cvat_coco": 120,
    "coco_results": 120,
    "panoptic": 450,
    "cvat_xml": 300,
    "cvat_segmask": 100,
    "labelstudio": 300,
    "labelme": 300,
    "semantic_png": 200,
    "instance_png": 200,
    "delivered_png": 200,
}
"""Examples per reader (2,890 in all)."""


def fuzz(name: str) -> settings:
    """``EXAMPLES[name]`` examples, no deadline, no example database (the child runs in the repository)."""
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


SCRATCH = Path(tempfile.mkdtemp(prefix="qc-fuzz-"))
atexit.register(shutil.rmtree, SCRATCH, True)
PROJECT = [Category(1, "cat"), Category(2, "dog")]
SIZES = {"a.jpg": (10, 12), "b.jpg": (8, 8)}


def scratch(name: str) -> Path:
    """A fresh folder for one example (the examples of one reader reuse it)."""
    folder = SCRATCH / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


# --- COCO family -----------------------------------------------------------------------------------------


@fuzz("coco")
@given(raw=file_bytes(coco_doc()), use_classes=st.booleans(), use_sizes=st.booleans())
def fuzz_coco(raw: bytes, use_classes: bool, use_sizes: bool) -> None:
    path = scratch("coco") / "fuzz.json"
    path.write_bytes(raw)
    run(read_instances, path, categories=[1, 2] if use_classes else None, image_sizes=SIZES if use_sizes else None)


def cvat_coco_doc() -> dict[str, Any]:
    document = coco_doc()
    for annotation in document["annotations"]:
        annotation["attributes"] = {"occluded": False}
    return document


@fuzz("cvat_coco")
@given(raw=file_bytes(cvat_coco_doc()), use_classes=st.booleans())
def fuzz_cvat_coco(raw: bytes, use_classes: bool) -> None:
    path = scratch("cvat_coco") / "fuzz.json"
    path.write_bytes(raw)
    run(read_cvat_coco, path, categories=PROJECT if use_classes else None, image_sizes=SIZES)


def results_doc() -> dict[str, Any]:
    """COCO results wrapped in an object (the mutations need a dict root): ``{"results": [...]}``."""
    annotations = coco_doc()["annotations"]
    keep = ("image_id", "category_id", "segmentation")
    return {"results": [{**{k: a[k] for k in keep}, "score": 0.9} for a in annotations]}


@fuzz("coco_results")
@given(document=mutated(results_doc()), use_classes=st.booleans())
def fuzz_coco_results(document: Any, use_classes: bool) -> None:
    path = scratch("coco_results") / "fuzz.json"
    body = document.get("results", document) if isinstance(document, dict) else document
    path.write_text(json.dumps(body))
    images = [ImageInfo(1, "a.jpg", 10, 12), ImageInfo(2, "b.jpg", 8, 8)]
    run(read_coco_results, path, images=images, categories=[1, 2] if use_classes else None)


# --- PNG readers ------------------------------------------------------------------------------------------

PNG_DAMAGE = st.sampled_from(["none", "none", "truncate", "flip", "gray", "size", "random", "bomb"])
BOMBS = st.sampled_from([(12000, 14000), (9000, 9000), (1, 70_000_000), (70_000, 1), (8193, 8193)])


def _damaged_png(draw: Callable[..., Any], png: Path, shape: tuple[int, int]) -> None:
    damage = draw(PNG_DAMAGE)
    raw = png.read_bytes()
    if damage == "truncate":
        png.write_bytes(raw[: draw(st.integers(min_value=0, max_value=len(raw)))])
    elif damage == "flip":
        position = draw(st.integers(min_value=0, max_value=len(raw) - 1))
        png.write_bytes(raw[:position] + bytes([draw(st.integers(0, 255))]) + raw[position + 1 :])
    elif damage == "gray":
        Image.fromarray(np.zeros(shape, dtype=np.uint8)).save(png)
    elif damage == "size":
        save_rgb_ids(png, np.full((shape[0] + 1, shape[1]), 5, dtype=np.int64))
    elif damage == "random":
        png.write_bytes(draw(st.binary(max_size=80)))
    elif damage == "bomb":
        png.write_bytes(docs.png_header_bomb(*draw(BOMBS)))


@fuzz("panoptic")
@given(data=st.data())
def fuzz_panoptic(data: st.DataObject) -> None:
    folder = scratch("panoptic")
    labels = panoptic_labels()
    if data.draw(st.booleans()):  # paint an unlisted id somewhere
        labels[1][data.draw(st.integers(0, 5)), data.draw(st.integers(0, 6))] = data.draw(st.integers(0, 2**24 - 1))
    png_dir = folder / "panoptic"
    png_dir.mkdir()
    for image_id, name in ((1, "one.png"), (2, "two.png")):
        save_rgb_ids(png_dir / name, labels[image_id])
        _damaged_png(data.draw, png_dir / name, labels[image_id].shape)
    json_path = folder / "panoptic.json"
    json_path.write_bytes(data.draw(file_bytes(panoptic_doc())))
    sizes = {"one.jpg": (6, 7), "two.jpg": (5, 5)} if data.draw(st.booleans()) else None
    run(read_panoptic, json_path, image_sizes=sizes)


PNG_MODES = st.sampled_from(["L", "P", "I;16", "1", "RGB", "LA"])


@st.composite
def label_png(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """A small label PNG of a random mode (raw bytes, height, width), sometimes damaged or a header bomb."""
    height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    mode = draw(PNG_MODES)
    values = np.array(draw(st.lists(st.integers(0, 6), min_size=height * width, max_size=height * width)))
    values = values.reshape(height, width).astype(np.uint8)
    if mode == "I;16":
        image = Image.frombytes("I;16", (width, height), (values.astype("<u2") * 300).tobytes())
    elif mode in ("L", "P"):
        image = Image.frombytes(mode, (width, height), values.tobytes())
    else:
        image = Image.fromarray(values).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    raw = buffer.getvalue()
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "flip", "random", "bomb"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    elif damage == "flip":
        position = draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw = raw[:position] + bytes([draw(st.integers(0, 255))]) + raw[position + 1 :]
    elif damage == "random":
        raw = draw(st.binary(max_size=80))
    elif damage == "bomb":
        raw = docs.png_header_bomb(*draw(BOMBS), channels=1)
    return raw, height, width


SIZE_SHIFT = st.sampled_from([0, 0, 0, 1, -1, None])
CLASS_MAPS = st.dictionaries(st.integers(0, 1800), st.integers(0, 5), max_size=6)


@fuzz("semantic_png")
@given(png=label_png(), classes=CLASS_MAPS, shift=SIZE_SHIFT)
def fuzz_semantic_png(png: tuple[bytes, int, int], classes: dict[int, int], shift: int | None) -> None:
    raw, height, width = png
    path = scratch("semantic") / "semantic.png"
    path.write_bytes(raw)
    size = {} if shift is None else {"height": height + shift, "width": width}
    run(read_semantic_png, path, image_id=1, classes=classes, **size)


@fuzz("instance_png")
@given(png=label_png(), classes=st.none() | CLASS_MAPS, shift=SIZE_SHIFT)
def fuzz_instance_png(png: tuple[bytes, int, int], classes: dict[int, int] | None, shift: int | None) -> None:
    raw, height, width = png
    path = scratch("instance") / "instance.png"
    path.write_bytes(raw)
    size = {} if shift is None else {"height": height, "width": width + shift}
    run(read_instance_png, path, image_id="x", classes=classes, **size)


JSON_VALUES = st.none() | st.booleans() | st.integers(-3, 2**40) | st.text(max_size=6) | st.lists(st.integers(0, 3))
ENTRIES = st.none() | JSON_VALUES | st.dictionaries(st.text(max_size=4) | st.integers(0, 9).map(str), JSON_VALUES)


@fuzz("delivered_png")
@given(png=label_png(), task=st.sampled_from(["semantic", "instance", "panoptic"]), entry=ENTRIES, shift=SIZE_SHIFT)
def fuzz_delivered_png(png: tuple[bytes, int, int], task: str, entry: Any, shift: int | None) -> None:
    """A delivered label PNG of a two-class project, read by its task; an instance PNG with a fuzzed classes entry."""
    raw, height, width = png
    path = scratch("delivered") / "img0.png"
    path.write_bytes(raw)
    image = ImageInfo(3, "img0.jpg", height + (shift or 0), width)
    classes = ClassesFile(str(path.with_name("classes.json")), {"img0": entry})
    categories = [Category(1, "coin"), Category(2, "ring")]
    colours = {"#ff0000": 1, "#010101": 2}
    run(read_delivered_png, path, task=task, images=[image], categories=categories, colours=colours, classes=classes)


@fuzz("cvat_segmask")
@given(data=st.data())
def fuzz_cvat_segmask(data: st.DataObject) -> None:
    folder = scratch("segmask")
    (folder / "SegmentationClass").mkdir()
    (folder / "labelmap.txt").write_text("background:0,0,0::\ncat:255,0,0::\ndog:0,255,0::\n")
    ids = np.zeros((10, 20), dtype=np.int64)
    ids[2:6, 3:9] = 255  # red: cat
    ids[6:9, 10:15] = data.draw(st.sampled_from([255 * 256, 255, 7, 0]))
    for part in ("SegmentationClass", "SegmentationObject")[: data.draw(st.integers(1, 2))]:
        (folder / part).mkdir(exist_ok=True)
        save_rgb_ids(folder / part / "a.png", ids)
        _damaged_png(data.draw, folder / part / "a.png", ids.shape)
    sizes = data.draw(st.sampled_from([None, {"a.png": (10, 20)}, {"a.jpg": (60000, 60000)}, {"a.png": (9, 20)}]))
    run(cvat.read_cvat_segmask, folder, categories=PROJECT if data.draw(st.booleans()) else None, image_sizes=sizes)


# --- CVAT XML, Label Studio, labelme: the readers of drawn shapes ------------------------------------------

MASK_RUNS = st.sampled_from(["0, 4", "2, 2", "0, 3600000000", "-1, 5", "0, 64000000"])
XML_NUMBERS = st.sampled_from(["1", "5", "8.5", "-1", "0", "20", "1e12", "-1e12", "4e8", "nan", "inf", "-inf", "", "x"])


@st.composite
def cvat_document(draw: st.DrawFn) -> bytes:
    """A CVAT XML of one image whose declared size and shape attributes are drawn (huge, negative, NaN, junk)."""
    n = XML_NUMBERS
    points = ";".join(f"{draw(n)},{draw(n)}" for _ in range(draw(st.integers(0, 5))))
    shapes = [
        docs.cvat_polygon([[2, 2], [8, 2], [8, 8]]),
        f'<polygon label="cat" points="{points}"/>',
        docs.cvat_box(draw(n), draw(n), draw(n), draw(n), rotation=draw(st.sampled_from(["0", "30", "nan", "1e300"]))),
        docs.cvat_mask(
            draw(n), draw(n), draw(n), draw(n), draw(st.sampled_from(["0, 4", "2, 2", "0, 3600000000", "-1, 5"]))
        ),
    ]
    height, width = draw(st.sampled_from([(10, 20), ("60000", "60000"), ("-1", "5"), ("nan", "2"), ("9000", "9000")]))
    raw = docs.cvat_xml("".join(draw(st.permutations(shapes))), height=height, width=width).encode()
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "flip"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == "flip":
        position = draw(st.integers(0, len(raw) - 1))
        raw = raw[:position] + bytes([draw(st.integers(0, 255))]) + raw[position + 1 :]
    return raw


@fuzz("cvat_xml")
@given(raw=cvat_document(), use_classes=st.booleans(), use_sizes=st.booleans())
def fuzz_cvat_xml(raw: bytes, use_classes: bool, use_sizes: bool) -> None:
    path = scratch("cvat_xml") / "fuzz.xml"
    path.write_bytes(raw)
    sizes = {"a.jpg": (10, 20)} if use_sizes else None
    run(cvat.read_cvat_xml, path, categories=PROJECT if use_classes else None, image_sizes=sizes)


def labelstudio_doc() -> dict[str, Any]:
    """A Label Studio task of three regions (the mutations need a dict root; the reader takes a single task)."""
    brush = np.zeros((10, 20), bool)
    brush[1:4, 2:6] = True
    results = [docs.ls_polygon(docs.SQUARE), docs.ls_rectangle(10, 10, 30, 40, rotation=20), docs.ls_brush(brush)]
    (task,) = docs.ls_export(results)
    return task


@fuzz("labelstudio")
@given(raw=file_bytes(labelstudio_doc()), use_classes=st.booleans(), use_sizes=st.booleans())
def fuzz_labelstudio(raw: bytes, use_classes: bool, use_sizes: bool) -> None:
    path = scratch("labelstudio") / "fuzz.json"
    path.write_bytes(raw)
    sizes = {"a.jpg": (10, 20)} if use_sizes else None
    run_all(labelstudio.read_labelstudio, path, categories=PROJECT if use_classes else None, image_sizes=sizes)


def labelme_fuzz_doc() -> dict[str, Any]:
    mask = np.ones((4, 5), bool)
    shapes = [
        docs.labelme_shape("polygon", docs.SQUARE),
        docs.labelme_shape("rectangle", [[1, 1], [6, 5]]),
        docs.labelme_shape("circle", [[10, 5], [13, 5]]),
        docs.labelme_shape("mask", [[12, 2], [16, 5]], mask=docs.labelme_mask_png(mask)),
    ]
    return docs.labelme_doc(shapes)


@fuzz("labelme")
@given(raw=file_bytes(labelme_fuzz_doc()), use_classes=st.booleans(), use_sizes=st.booleans())
def fuzz_labelme(raw: bytes, use_classes: bool, use_sizes: bool) -> None:
    path = scratch("labelme") / "fuzz.json"
    path.write_bytes(raw)
    sizes = {"a.jpg": (10, 20)} if use_sizes else None
    run(labelme.read_labelme, path, categories=PROJECT if use_classes else None, image_sizes=sizes)
