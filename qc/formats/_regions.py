"""Objects sent back to an annotator (per-object rework) as regions in the files annotation tools import.

A :class:`ReworkRegion` is where the object is (COCO bbox), its class and the reviewer's note.
CVAT gets a ``<box>`` of the label :data:`REGION_LABEL` with the note and the class as text
attributes; Label Studio a ``rectanglelabels`` result (percent coordinates) whose ``meta.text``
holds the note, and the regions again under ``data.qc_regions``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qc.core import Category, ImageInfo

__all__ = ["REGION_LABEL", "ReworkRegion", "cvat_region_box", "cvat_region_label", "labelstudio_regions"]

REGION_LABEL = "qc_rework_region"
"""The CVAT label (a rectangle) and the Label Studio ``from_name`` of regions sent back."""
NOTE_ATTRIBUTE = "qc_feedback"
CLASS_ATTRIBUTE = "qc_class"


@dataclass(frozen=True)
class ReworkRegion:
    """One object sent back: COCO ``bbox`` ``(x, y, w, h)``, its class id and the reviewer's note."""

    bbox: tuple[int, int, int, int]
    category_id: int | None
    note: str

    def class_name(self, labels: Mapping[int, Category]) -> str:
        category = labels.get(self.category_id) if self.category_id is not None else None
        return category.name if category is not None else str(self.category_id or "")


def cvat_region_label(holder: ET.Element) -> None:
    """Declare :data:`REGION_LABEL` (a rectangle with the note and class as text attributes) in CVAT's meta."""
    label = ET.SubElement(holder, "label")
    ET.SubElement(label, "name").text = REGION_LABEL
    ET.SubElement(label, "type").text = "rectangle"
    attributes = ET.SubElement(label, "attributes")
    for name in (NOTE_ATTRIBUTE, CLASS_ATTRIBUTE):
        attribute = ET.SubElement(attributes, "attribute")
        for key, value in (("name", name), ("mutable", "True"), ("input_type", "text")):
            ET.SubElement(attribute, key).text = value


def cvat_region_box(frame: ET.Element, region: ReworkRegion, labels: Mapping[int, Category]) -> None:
    """A ``<box>`` of the region in an image of a CVAT document, with its note and class."""
    x, y, w, h = region.bbox
    corners = {"xtl": f"{x:.2f}", "ytl": f"{y:.2f}", "xbr": f"{x + w:.2f}", "ybr": f"{y + h:.2f}"}
    box = ET.SubElement(
        frame, "box", {"label": REGION_LABEL, "source": "manual", "occluded": "0", **corners, "z_order": "0"}
    )
    ET.SubElement(box, "attribute", {"name": NOTE_ATTRIBUTE}).text = region.note
    ET.SubElement(box, "attribute", {"name": CLASS_ATTRIBUTE}).text = region.class_name(labels)


def labelstudio_regions(
    regions: Sequence[ReworkRegion], image: ImageInfo, labels: Mapping[int, Category]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Label Studio ``rectanglelabels`` results of the regions, and their plain form for ``data.qc_regions``."""
    results, plain = [], []
    for number, region in enumerate(regions, start=1):
        x, y, w, h = region.bbox
        name = region.class_name(labels)
        value = {
            "x": 100.0 * x / image.width,
            "y": 100.0 * y / image.height,
            "width": 100.0 * w / image.width,
            "height": 100.0 * h / image.height,
            "rotation": 0,
            "rectanglelabels": [name],
        }
        results.append(
            {
                "id": f"qc-region-{number}",
                "type": "rectanglelabels",
                "from_name": REGION_LABEL,
                "to_name": "image",
                "original_width": image.width,
                "original_height": image.height,
                "image_rotation": 0,
                "value": value,
                "meta": {"text": [region.note]},
            }
        )
        plain.append({"bbox": list(region.bbox), "class": name, "note": region.note})
    return results, plain
