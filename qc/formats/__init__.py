"""Readers and writers of annotation files.

Every reader returns :class:`ParsedAnnotations`: what it could use, plus one
:class:`Rejection` per refused item (file, image id, annotation id, field and how to
fix it). Readers never raise for bad content; only a path that cannot be read at all
raises :class:`qc.errors.FormatError`.
"""

from qc.formats._base import Category, ImageInfo, ParsedAnnotations, Rejection
from qc.formats._common import validate_image_ids
from qc.formats.coco import read_instances, to_coco_dict, write_instances
from qc.formats.cvat import read_cvat_coco, read_cvat_segmask, read_cvat_xml, write_cvat_xml
from qc.formats.detect import detect_format, read_any, read_coco_results
from qc.formats.labelme import read_labelme
from qc.formats.labelstudio import read_labelstudio, write_labelstudio
from qc.formats.masks_png import read_instance_folder, read_instance_png, read_semantic_folder, read_semantic_png
from qc.formats.panoptic import panoptic_png, read_panoptic, to_panoptic_dict, write_panoptic

__all__ = [
    "Category",
    "ImageInfo",
    "ParsedAnnotations",
    "Rejection",
    "detect_format",
    "panoptic_png",
    "read_any",
    "read_coco_results",
    "read_cvat_coco",
    "read_cvat_segmask",
    "read_cvat_xml",
    "read_instance_folder",
    "read_instance_png",
    "read_instances",
    "read_labelme",
    "read_labelstudio",
    "read_panoptic",
    "read_semantic_folder",
    "read_semantic_png",
    "to_coco_dict",
    "to_panoptic_dict",
    "validate_image_ids",
    "write_cvat_xml",
    "write_instances",
    "write_labelstudio",
    "write_panoptic",
]
