"""The mutation machinery of the reader fuzzing (:mod:`tests.formats.fuzz_readers`) and its one check.

:func:`mutated` applies 1-4 structural mutations to a valid document (drop, replace with any
JSON, NaN/Infinity, duplicate, broken RLE, nearby number, new root, and :data:`HOSTILE`
numbers: one number, or every number of a part at once, so that a whole polygon or a
declared size becomes huge, negative, NaN or infinite); :func:`file_bytes` serialises it and
sometimes damages the bytes. :func:`check` is what every reader must give for any input.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import strategies as st

from qc import masks
from qc.errors import QCError
from qc.formats import ParsedAnnotations
from qc.limits import MAX_IMAGE_PIXELS

__all__ = ["HOSTILE", "check", "file_bytes", "mutated", "run", "run_all"]

KEYS = (
    "id image_id category_id segmentation size counts height width file_name iscrowd area bbox segments_info "
    "images annotations categories name points x y original_width original_height imageHeight imageWidth "
    "shape_type label completed_by rle value result"
).split()

HOSTILE = [1e12, -1e12, 4e8, -4e8, 60000, 2**31, 2**32 + 1, 2**63, -1, 0, 1e308, -1e308, math.nan, math.inf, -math.inf]
"""Numbers that once crashed a reader or took gigabytes as coordinates or declared sizes."""

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


OPERATIONS = ["drop", "replace", "nan", "duplicate", "rle", "number", "swap-root"] + ["hostile", "hostile-all"] * 2
"""The mutations, the hostile numbers weighted twice."""


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
        operation = draw(st.sampled_from(OPERATIONS))
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
        elif operation == "hostile" and _is_number(parent[key]):
            parent[key] = draw(st.sampled_from(HOSTILE))
        elif operation == "hostile-all":  # every number under this place: a whole polygon or size at once
            parent[key] = _hostile_numbers(parent[key], draw(st.sampled_from(HOSTILE)))
    return doc


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _hostile_numbers(node: Any, value: float) -> Any:
    if _is_number(node):
        return value
    if isinstance(node, list):
        return [_hostile_numbers(v, value) for v in node]
    if isinstance(node, dict):
        return {k: _hostile_numbers(v, value) for k, v in node.items()}
    return node


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
    for image in parsed.images.values():
        assert 0 < image.height * image.width <= MAX_IMAGE_PIXELS, image


def run(reader: Any, *args: Any, **options: Any) -> None:
    try:
        parsed = reader(*args, **options)
    except QCError:
        return
    check(parsed)


def run_all(reader: Any, *args: Any, **options: Any) -> None:
    """Like :func:`run`, for readers that return one result per annotator."""
    try:
        results = reader(*args, **options)
    except QCError:
        return
    for parsed in results:
        check(parsed)
