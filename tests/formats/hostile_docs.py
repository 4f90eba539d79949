"""Small valid files of every format (the starting points of the hostile-input tests), and PNG bombs.

Each image is 10 high x 20 wide and named ``a.jpg``; the one class is ``cat``.
:func:`png_bomb` writes a PNG that declares any size but holds a few hundred bytes per
thousand rows, written row by row so that making it costs no memory.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from qc.formats.labelstudio import encode_brush

H, W = 10, 20
SQUARE = [[2, 2], [8, 2], [8, 8], [2, 8]]  # a 6 x 6 square in pixels


def cvat_xml(shapes: str, *, height: Any = H, width: Any = W, name: str = "a.jpg") -> str:
    """A CVAT for images 1.1 document of one image holding ``shapes`` (XML elements as text)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
        "<meta><task><labels><label><name>cat</name></label></labels></task></meta>"
        f'<image id="0" name="{name}" width="{width}" height="{height}">{shapes}</image></annotations>'
    )


def cvat_polygon(points: list[list[Any]]) -> str:
    return f'<polygon label="cat" points="{";".join(f"{x},{y}" for x, y in points)}"/>'


def cvat_box(xtl: Any, ytl: Any, xbr: Any, ybr: Any, rotation: Any = 0) -> str:
    return f'<box label="cat" xtl="{xtl}" ytl="{ytl}" xbr="{xbr}" ybr="{ybr}" rotation="{rotation}"/>'


def cvat_mask(left: Any, top: Any, width: Any, height: Any, rle: str) -> str:
    return f'<mask label="cat" left="{left}" top="{top}" width="{width}" height="{height}" rle="{rle}"/>'


def ls_result(kind: str, value: dict[str, Any], *, height: Any = H, width: Any = W, rid: str = "r") -> dict[str, Any]:
    return {
        "id": rid,
        "type": kind,
        "from_name": "label",
        "to_name": "image",
        "original_width": width,
        "original_height": height,
        "value": {**value, kind: ["cat"]},
    }


def ls_polygon(points: list[list[Any]], **size: Any) -> dict[str, Any]:
    """A polygon in percent: ``points`` in pixels of the 10 x 20 image are converted."""
    percent = [[x / W * 100, y / H * 100] if _plain(x, y) else [x, y] for x, y in points]
    return ls_result("polygonlabels", {"points": percent}, **size)


def ls_rectangle(x: Any, y: Any, width: Any, height: Any, rotation: Any = 0, **size: Any) -> dict[str, Any]:
    return ls_result(
        "rectanglelabels", {"x": x, "y": y, "width": width, "height": height, "rotation": rotation}, **size
    )


def ls_brush(mask: np.ndarray, **size: Any) -> dict[str, Any]:
    return ls_result("brushlabels", {"format": "rle", "rle": encode_brush(mask.astype(np.uint8) * 255)}, **size)


def ls_export(results: list[dict[str, Any]], *, who: Any = "ana", image: str = "a.jpg") -> list[dict[str, Any]]:
    """A Label Studio export of one task annotated by ``who``; result ids are made unique."""
    numbered = [{**r, "id": f"r{i}"} for i, r in enumerate(results)]
    return [
        {
            "id": 1,
            "data": {"image": f"/data/upload/1/{image}"},
            "annotations": [{"completed_by": who, "result": numbered}],
        }
    ]


def labelme_doc(shapes: list[dict[str, Any]], *, height: Any = H, width: Any = W) -> dict[str, Any]:
    return {"version": "5.4.1", "imagePath": "a.jpg", "imageHeight": height, "imageWidth": width, "shapes": shapes}


def labelme_shape(kind: str, points: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"label": "cat", "points": points, "shape_type": kind, "group_id": None, **extra}


def labelme_mask_png(mask: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def png_bomb(path: Path | None, height: int, width: int, *, channels: int = 3) -> bytes:
    """A PNG of zeros declaring ``height`` x ``width`` (8-bit, RGB or gray), built row by row; written when ``path``."""
    colour = {1: 0, 3: 2}[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    squeeze = zlib.compressobj(9)
    row = b"\x00" * (1 + channels * width)
    pieces = [squeeze.compress(row) for _ in range(height)]
    data = b"".join(pieces) + squeeze.flush()
    raw = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    if path is not None:
        path.write_bytes(raw)
    return raw


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _plain(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) and abs(v) < 1e6 for v in values)


def summary(parsed: list[Any]) -> dict[str, Any]:
    """What readers returned: segments ``[image, id, area, bbox]``, rejections ``[image, id, field, message]``."""
    from qc import masks

    return {
        "segments": [
            [str(i), str(s.id), masks.area(s.rle), list(masks.bbox(s.rle))] for p in parsed for i, s in p.segments
        ],
        "rejections": [
            [str(r.image_id), str(r.annotation_id), r.field, r.message] for p in parsed for r in p.rejections
        ],
    }


def png_header_bomb(height: int, width: int, *, channels: int = 3) -> bytes:
    """A PNG declaring ``height`` x ``width`` with data for only a few rows: tiny, but decoding it allocates it all."""
    colour = {1: 0, 3: 2}[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    rows = zlib.compress((b"\x00" + b"\x00" * (channels * min(width, 64))) * 4)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")
