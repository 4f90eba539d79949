"""Find a file's format from its content, and read any supported file as one submission per annotator.

Formats: ``coco`` (instances), ``cvat-coco`` (CVAT's COCO 1.0: annotations carry an
``attributes`` object), ``coco-results`` (a model's COCO results list with ``score``),
``coco_panoptic``, ``cvat-xml``, ``cvat-segmask`` (a folder with ``labelmap.txt``),
``labelstudio``, ``labelme``, and a label PNG of one project image: ``png_semantic`` or
``png_instance`` by the project's ``task`` (see :mod:`qc.formats.png_delivery`).

>>> import json, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = folder + "/model.json"
>>> rle = {"size": [4, 4], "counts": [5, 2, 2, 2, 5]}
>>> with open(path, "w") as handle:
...     json.dump([{"image_id": 1, "category_id": 2, "segmentation": rle, "score": 0.9}], handle)
>>> detect_format(path)
'coco-results'
>>> [(p.format, [(i, s.category_id, s.area) for i, s in p.segments]) for p in
...  read_any(path, images=[ImageInfo(1, "a.jpg", 4, 4)])]
[('coco-results', [(1, 2, 4)])]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from qc import masks
from qc.core import ImageInfo, Segment
from qc.errors import FormatError
from qc.formats import coco, cvat, labelme, labelstudio, masks_png, panoptic, png_delivery
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import CategoriesArg, category_reference
from qc.formats._jsonio import Invalid, describe, get_id, get_int, is_number, load_json

__all__ = ["FORMATS", "RESULTS_FORMAT", "detect_format", "read_any", "read_coco_results"]

RESULTS_FORMAT = "coco-results"
FORMATS = (
    "coco",
    "cvat-coco",
    RESULTS_FORMAT,
    "coco_panoptic",
    "cvat-xml",
    "cvat-segmask",
    "labelstudio",
    "labelme",
    masks_png.SEMANTIC_FORMAT,
    masks_png.INSTANCE_FORMAT,
)
_PNG_FORMATS = (masks_png.SEMANTIC_FORMAT, masks_png.INSTANCE_FORMAT)


def detect_format(path: str | os.PathLike[str], *, task: str | None = None) -> str:
    """The format of a file (or CVAT mask folder) from its content; FormatError when none fits.

    A PNG is a label PNG whose kind the project's ``task`` decides (semantic, instance, panoptic).
    """
    target = Path(path)
    if target.is_dir():
        if (target / "labelmap.txt").is_file():
            return cvat.SEGMASK_FORMAT
        raise FormatError("the folder has no labelmap.txt; only CVAT mask exports are read as folders", path=str(path))
    with _open(target) as handle:
        head = handle.read(4096)
    if head.startswith(png_delivery.PNG_SIGNATURE):
        return png_delivery.png_format(task, path)
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if b"<annotations" in head:
            return cvat.XML_FORMAT
        raise FormatError("an XML file without <annotations>; only CVAT for images 1.1 XML is read", path=str(path))
    data, failure = load_json(target)
    if failure is not None:
        raise FormatError(f"cannot detect the format: {failure.message}", path=str(path))
    return _json_format(data, str(path))


def _open(target: Path) -> Any:
    try:
        return target.open("rb")
    except OSError as exc:
        raise FormatError(f"cannot read the file ({exc.strerror}); check the path", path=str(target)) from exc


def _json_format(data: Any, path: str) -> str:
    """The JSON formats by their shape; a file that looks like one but lacks its key lists is refused naming the key."""
    if isinstance(data, dict):
        return _object_format(data, path)
    tasks = [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
    if tasks and all("score" in t and "image_id" in t for t in tasks):
        return RESULTS_FORMAT
    if tasks and all(_TASK_KEYS & set(t) for t in tasks):
        for index, task in enumerate(tasks):
            _check_task(task, f"task {index}", path)
        return labelstudio.FORMAT
    raise FormatError(
        f"cannot tell the format of this JSON ({describe(data)}); expected one of {', '.join(FORMATS)}", path=path
    )


_TASK_KEYS = {"annotations", "predictions", "result", "data"}
_COCO_KEYS = {"images", "categories", "info", "licenses"}


def _object_format(data: dict[str, Any], path: str) -> str:
    if "shapes" in data and "imagePath" in data:
        return labelme.FORMAT
    if _COCO_KEYS & set(data) or ("annotations" in data and "data" not in data and "result" not in data):
        annotations = data.get("annotations")
        if not isinstance(annotations, list):
            raise FormatError(
                f"this looks like a COCO file but its top-level 'annotations' is {describe(annotations)}, not a list "
                "of annotations, so nothing in it could be read; export it again (an image without annotations "
                "still needs 'annotations': [])",
                path=path,
                field="annotations",
            )
        items = [a for a in annotations if isinstance(a, dict)]
        if any("segments_info" in a for a in items):
            return panoptic.FORMAT
        if any(isinstance(a.get("attributes"), dict) for a in items):
            return cvat.COCO_FORMAT
        return coco.FORMAT
    if _TASK_KEYS & set(data):
        _check_task(data, "the task", path)
        return labelstudio.FORMAT
    raise FormatError(
        f"cannot tell the format of this JSON ({describe(data)}); expected one of {', '.join(FORMATS)}", path=path
    )


def _check_task(task: dict[str, Any], where: str, path: str) -> None:
    """A Label Studio task's ``annotations``, ``predictions`` and ``result`` must be lists when present."""
    for key in ("annotations", "predictions", "result"):
        if key in task and not isinstance(task[key], list):
            raise FormatError(
                f"this looks like a Label Studio export but {where}'s {key!r} is {describe(task[key])}, not a list; "
                "export the project again as JSON",
                path=path,
                field=key,
            )


def read_any(
    path: str | os.PathLike[str],
    *,
    categories: CategoriesArg = None,
    images: Iterable[ImageInfo] | None = None,
    min_score: float = 0.5,
    task: str | None = None,
    colours: Mapping[str, int] | None = None,
    png_classes: png_delivery.ClassesFile | None = None,
) -> list[ParsedAnnotations]:
    """Read any supported file: one :class:`ParsedAnnotations` per annotator found.

    Single-annotator formats give one with ``annotator`` None. ``images`` (e.g. the
    round's images) are the project's sizes: an image the file declares at another size
    is refused before any of its masks is decoded; ``coco-results``, whose file lists no
    images, needs them. Results scoring below ``min_score`` are dropped. CVAT COCO masks
    are read as instances (see :mod:`qc.formats.cvat`). A label PNG needs the project's
    ``task`` and ``images`` (its name is its image), and ``colours`` (``'#rrggbb'`` -> class
    id) when RGB, or ``png_classes`` (its ``classes.json``) when instance ids.
    """
    kind = detect_format(path, task=task)
    known = list(images or ())
    if kind in _PNG_FORMATS:
        read = png_delivery.read_delivered_png
        return [read(path, task=task, images=known, categories=categories, colours=colours, classes=png_classes)]
    sizes = {image.file_name: (image.height, image.width) for image in known} if images is not None else None
    if kind == labelstudio.FORMAT:
        return labelstudio.read_labelstudio(path, categories=categories, image_sizes=sizes)
    if kind == RESULTS_FORMAT:
        return [read_coco_results(path, images=known, categories=categories, min_score=min_score)]
    readers = {
        coco.FORMAT: lambda: coco.read_instances(path, categories=categories, image_sizes=sizes),
        cvat.COCO_FORMAT: lambda: cvat.read_cvat_coco(path, categories=categories, image_sizes=sizes),
        cvat.XML_FORMAT: lambda: cvat.read_cvat_xml(path, categories=categories, image_sizes=sizes),
        cvat.SEGMASK_FORMAT: lambda: cvat.read_cvat_segmask(path, categories=categories, image_sizes=sizes),
        labelme.FORMAT: lambda: labelme.read_labelme(path, categories=categories, image_sizes=sizes),
        panoptic.FORMAT: lambda: panoptic.read_panoptic(path, categories=categories, image_sizes=sizes),
    }
    return [readers[kind]()]


def read_coco_results(
    path: str | os.PathLike[str],
    *,
    images: Iterable[ImageInfo],
    categories: CategoriesArg = None,
    min_score: float = 0.5,
) -> ParsedAnnotations:
    """A model's COCO results (``[{image_id, category_id, segmentation, score}]``) for known ``images``.

    Results below ``min_score`` are dropped silently; results of unknown images or
    categories and bad masks are rejections. Segment ids count from 1 in file order.
    """
    name = os.fspath(path)
    data, failure = load_json(path)
    if failure is not None:
        return ParsedAnnotations(name, RESULTS_FORMAT, rejections=[failure])
    table = {image.id: image for image in images}
    allowed, reported = category_reference(categories, {})
    parsed = ParsedAnnotations(name, RESULTS_FORMAT, categories=reported)
    for index, item in enumerate(data if isinstance(data, list) else []):
        image_id = item.get("image_id") if isinstance(item, dict) else None
        try:
            result = _result(item, index, table, allowed if categories is not None else None, min_score)
        except Invalid as bad:
            parsed.rejections.append(Rejection(name, image_id, index + 1, bad.field, f"results[{index}]: {bad}"))
            continue
        if result is not None:
            parsed.images[result[0]] = table[result[0]]
            parsed.segments.append(result)
    return parsed


def _result(
    item: Any, index: int, table: dict[Any, ImageInfo], allowed: frozenset[int] | None, min_score: float
) -> tuple[Any, Segment] | None:
    if not isinstance(item, dict):
        raise Invalid(None, f"a result must be an object; got {describe(item)}")
    score: Any = item.get("score")
    if not is_number(score):
        raise Invalid("score", f"'score' must be a finite number; got {describe(score)}")
    if float(score) < min_score:
        return None
    image_id, category_id = get_id(item, "image_id"), get_int(item, "category_id")
    image = table.get(image_id)
    if image is None:
        raise Invalid("image_id", f"image {image_id!r} is not one of the round's images; check the image ids")
    if allowed is not None and category_id not in allowed:
        raise Invalid("category_id", f"category {category_id} is not one of the project's classes")
    rle = coco.segmentation_rle(item.get("segmentation"), image.height, image.width, present="segmentation" in item)
    if masks.area(rle) == 0:
        raise Invalid("segmentation", "the mask is empty (zero area)")
    return image_id, Segment(index + 1, category_id, rle)
