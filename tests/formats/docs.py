"""Tiny hand-built annotation files for the format tests (written under pytest's tmp_path)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from qc import masks

# image 1 is 10 high x 12 wide, image 2 is 8 x 8
SQUARE = np.zeros((10, 12), dtype=bool)
SQUARE[2:6, 3:8] = True  # 20 pixels
CROWD = np.zeros((8, 8), dtype=bool)
CROWD[0:3, 5:8] = True  # 9 pixels
_CROWD_COUNTS = [int(c) for c in masks.runs(masks.encode(CROWD))]

VALID_COCO: dict[str, Any] = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "height": 10, "width": 12},
        {"id": 2, "file_name": "b.jpg", "height": 8, "width": 8},
    ],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    "annotations": [
        # two polygon parts: a 4x4 square and a triangle
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "iscrowd": 0,
            "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4], [8, 6, 11, 6, 11, 9]],
        },
        {"id": 2, "image_id": 1, "category_id": 2, "segmentation": masks.encode(SQUARE)},
        {
            "id": 3,
            "image_id": 2,
            "category_id": 1,
            "iscrowd": 1,
            "segmentation": {"size": [8, 8], "counts": _CROWD_COUNTS},
        },
    ],
}


def coco_doc() -> dict[str, Any]:
    """A fresh deep copy of the valid COCO document (3 annotations on 2 images)."""
    return copy.deepcopy(VALID_COCO)


def write_json(path: Path, document: Any) -> Path:
    """``json.dumps`` with NaN/Infinity literals allowed, so tests can write them."""
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def save_rgb_ids(path: Path, ids: npt.NDArray[np.int64]) -> None:
    """Save an id map as a COCO panoptic RGB PNG (id = R + 256 G + 256² B)."""
    rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(path, format="PNG")


def panoptic_labels() -> dict[int, npt.NDArray[np.int64]]:
    """Id maps of two images: image 1 (6 x 7) with ids 1, 300 and 70000; image 2 (5 x 5) with id 5."""
    first = np.zeros((6, 7), dtype=np.int64)
    first[0:2, 0:3] = 1  # 6 px
    first[3:6, 4:7] = 300  # 9 px, needs the G channel
    first[5, 0:2] = 70000  # 2 px, needs the B channel
    second = np.zeros((5, 5), dtype=np.int64)
    second[1:4, 1:4] = 5  # 9 px
    return {1: first, 2: second}


def panoptic_doc() -> dict[str, Any]:
    return {
        "images": [
            {"id": 1, "file_name": "one.jpg", "height": 6, "width": 7},
            {"id": 2, "file_name": "two.jpg", "height": 5, "width": 5},
        ],
        "categories": [
            {"id": 1, "name": "person", "isthing": 1},
            {"id": 2, "name": "car", "isthing": 1},
            {"id": 3, "name": "sky", "isthing": 0},
        ],
        "annotations": [
            {
                "image_id": 1,
                "file_name": "one.png",
                "segments_info": [
                    {"id": 1, "category_id": 1, "iscrowd": 0, "area": 6, "bbox": [0, 0, 3, 2]},
                    {"id": 300, "category_id": 2, "iscrowd": 1, "area": 9, "bbox": [4, 3, 3, 3]},
                    {"id": 70000, "category_id": 3, "iscrowd": 0, "area": 2, "bbox": [0, 5, 2, 1]},
                ],
            },
            {
                "image_id": 2,
                "file_name": "two.png",
                "segments_info": [
                    {"id": 5, "category_id": 1, "iscrowd": 0, "area": 9, "bbox": [1, 1, 3, 3]},
                ],
            },
        ],
    }


def write_panoptic_fixture(
    folder: Path, document: Any = None, labels: dict[int, npt.NDArray[np.int64]] | None = None
) -> Path:
    """Write ``panoptic.json`` and ``panoptic/<name>.png``; returns the JSON path."""
    document = panoptic_doc() if document is None else document
    labels = panoptic_labels() if labels is None else labels
    png_dir = folder / "panoptic"
    png_dir.mkdir(exist_ok=True)
    names = {1: "one.png", 2: "two.png"}
    for image_id, ids in labels.items():
        save_rgb_ids(png_dir / names[image_id], ids)
    return write_json(folder / "panoptic.json", document)
