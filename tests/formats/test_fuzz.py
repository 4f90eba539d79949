"""Hypothesis fuzzing of every reader with malformed documents (2,100 generated in all).

Each example starts from a valid file and mutates it: keys dropped, values swapped for
other JSON types, NaN/Infinity injected, ids duplicated, RLEs broken, bytes flipped or
the file truncated. Whatever comes in: no exception other than a ``QCError`` escapes,
every rejection names its file and says something, and every returned segment has a
valid RLE of its image's size with at least one pixel.
"""

from __future__ import annotations

import copy
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from qc import masks
from qc.errors import QCError
from qc.formats import ParsedAnnotations, read_instance_png, read_instances, read_panoptic, read_semantic_png
from tests.formats.docs import coco_doc, panoptic_doc, panoptic_labels, save_rgb_ids


def fuzz(examples: int) -> settings:
    """Many examples, no deadline; tmp_path is shared by the examples of one test (each rewrites its files)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


KEYS = (
    "id image_id category_id segmentation size counts height width file_name "
    "iscrowd area bbox segments_info images annotations categories name"
).split()

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0, 1, -1, 2**24, 2**32, 10**400, 120, 42]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner),
    max_leaves=12,
)
BAD_RLE = st.fixed_dictionaries(
    {},
    optional={
        "size": st.sampled_from([[10, 12], [8, 8], [6, 7], [5, 5], [0, 0], [10], [True, 12], "10x12"]) | VALUES,
        "counts": st.lists(st.integers(min_value=-5, max_value=130), max_size=6)
        | st.text(alphabet="0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmno~é", max_size=12)
        | VALUES,
    },
)


def _places(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair of a JSON tree."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in list(items):
        out.append((node, key))
        _places(child, out)
    return out


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """The document after 1-4 structural mutations."""
    doc: Any = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        places = _places(doc, [])
        if not places:
            return doc
        parent, key = places[draw(st.integers(min_value=0, max_value=len(places) - 1))]
        operation = draw(st.sampled_from(["drop", "replace", "nan", "duplicate", "rle", "number", "swap-root"]))
        if operation == "drop":
            del parent[key]
        elif operation == "replace":
            parent[key] = copy.deepcopy(draw(VALUES))  # copies: later mutations must not edit a strategy's values
        elif operation == "nan":
            parent[key] = copy.deepcopy(draw(st.sampled_from([math.nan, math.inf, -math.inf, [math.nan, 1.0]])))
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif operation == "rle":
            parent[key] = copy.deepcopy(draw(BAD_RLE))
        elif operation == "number" and isinstance(parent[key], int | float) and not isinstance(parent[key], bool):
            parent[key] = draw(st.sampled_from([True, False, -parent[key], parent[key] + 1, parent[key] * 1000, 0.5]))
        elif operation == "swap-root":
            doc = copy.deepcopy(draw(VALUES))
    return doc


@st.composite
def file_bytes(draw: st.DrawFn, document: dict[str, Any]) -> bytes:
    """Serialised mutated document, sometimes damaged at the byte level."""
    raw = json.dumps(draw(mutated(document))).encode()
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "flip", "insert", "random"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    elif damage == "flip" and raw:
        position = draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw = raw[:position] + bytes([draw(st.integers(0, 255))]) + raw[position + 1 :]
    elif damage == "insert":
        position = draw(st.integers(min_value=0, max_value=len(raw)))
        raw = raw[:position] + draw(st.binary(min_size=1, max_size=6)) + raw[position:]
    elif damage == "random":
        raw = draw(st.binary(max_size=64))
    return raw


def check(parsed: ParsedAnnotations) -> None:
    for rejection in parsed.rejections:
        assert rejection.path, rejection
        assert isinstance(rejection.message, str) and rejection.message.strip(), rejection
    for image_id, segment in parsed.segments:
        image = parsed.images[image_id]
        rle = masks.as_rle(segment.rle)  # raises InvalidMaskError for a malformed RLE
        assert isinstance(segment.rle["counts"], str)
        assert rle["size"] == [image.height, image.width]
        assert masks.area(rle) > 0


def run(reader: Any, *args: Any, **options: Any) -> None:
    try:
        parsed = reader(*args, **options)
    except QCError:
        return
    check(parsed)


@fuzz(800)
@given(raw=file_bytes(coco_doc()), use_classes=st.booleans())
def test_fuzz_read_instances(tmp_path: Path, raw: bytes, use_classes: bool) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(raw)
    run(read_instances, path, categories=[1, 2] if use_classes else None)


PNG_DAMAGE = st.sampled_from(["none", "none", "truncate", "flip", "gray", "size", "random"])


def _damaged_png(draw: st.DrawFn, png: Path, shape: tuple[int, int]) -> None:
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


@fuzz(700)
@given(data=st.data())
def test_fuzz_read_panoptic(tmp_path: Path, data: st.DataObject) -> None:
    labels = panoptic_labels()
    if data.draw(st.booleans()):  # paint an unlisted id somewhere
        labels[1][data.draw(st.integers(0, 5)), data.draw(st.integers(0, 6))] = data.draw(st.integers(0, 2**24 - 1))
    png_dir = tmp_path / "panoptic"
    png_dir.mkdir(exist_ok=True)
    for image_id, name in ((1, "one.png"), (2, "two.png")):
        save_rgb_ids(png_dir / name, labels[image_id])
        _damaged_png(data.draw, png_dir / name, labels[image_id].shape)
    json_path = tmp_path / "panoptic.json"
    json_path.write_bytes(data.draw(file_bytes(panoptic_doc())))
    run(read_panoptic, json_path)


PNG_MODES = st.sampled_from(["L", "P", "I;16", "1", "RGB", "LA"])


@st.composite
def label_png(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """A small label PNG of a random mode (raw bytes, height, width), sometimes damaged."""
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
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "flip", "random"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    elif damage == "flip":
        position = draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw = raw[:position] + bytes([draw(st.integers(0, 255))]) + raw[position + 1 :]
    elif damage == "random":
        raw = draw(st.binary(max_size=80))
    return raw, height, width


SIZE_SHIFT = st.sampled_from([0, 0, 0, 1, -1])
CLASS_MAPS = st.dictionaries(st.integers(0, 1800), st.integers(0, 5), max_size=6)


@fuzz(300)
@given(png=label_png(), classes=CLASS_MAPS, shift=SIZE_SHIFT)
def test_fuzz_read_semantic_png(
    tmp_path: Path, png: tuple[bytes, int, int], classes: dict[int, int], shift: int
) -> None:
    raw, height, width = png
    path = tmp_path / "semantic.png"
    path.write_bytes(raw)
    run(read_semantic_png, path, image_id=1, classes=classes, height=height + shift, width=width)


@fuzz(300)
@given(png=label_png(), classes=st.none() | CLASS_MAPS, shift=SIZE_SHIFT)
def test_fuzz_read_instance_png(
    tmp_path: Path, png: tuple[bytes, int, int], classes: dict[int, int] | None, shift: int
) -> None:
    raw, height, width = png
    path = tmp_path / "instance.png"
    path.write_bytes(raw)
    run(read_instance_png, path, image_id="x", classes=classes, height=height, width=width + shift)
