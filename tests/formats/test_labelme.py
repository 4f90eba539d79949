"""labelme reader against the labelme examples."""

from __future__ import annotations

from qc.core import Category
from qc.formats import labelme
from tests.formats._interop import check_mask, interop


def test_primitives() -> None:
    parsed = labelme.read_labelme(interop("labelme_labelme-examples/primitives/primitives.json"))
    (image,) = parsed.images.values()
    assert (image.file_name, image.width, image.height) == ("primitives.jpg", 560, 450)
    names = [parsed.categories[s.category_id].name for _, s in parsed.segments]
    assert names == ["rectangle", "circle", "rectangle", "polygon", "octagon"]
    assert [r.annotation_id for r in parsed.rejections] == [5, 6, 7]  # line, point, linestrip
    check_mask(parsed.segments[0][1], bbox=(32, 35, 100, 100), area=10000)
    octagon = parsed.segments[4][1]
    check_mask(octagon)
    x, y, w, h = octagon.bbox
    assert (x, y) >= (417, 305) and x + w <= 517 and y + h <= 405  # inside the 100x100 box, inclusive corners
    for _, segment in parsed.segments:
        check_mask(segment)


def test_instance_segmentation_groups() -> None:
    project = [Category(1, "person"), Category(2, "bottle")]
    parsed = labelme.read_labelme(
        interop("labelme_labelme-examples/instance_segmentation/2011_000003.json"), categories=project
    )
    (image,) = parsed.images.values()
    assert (image.width, image.height) == (500, 338)
    # person x3 with two sharing group_id 0 -> 2 persons; bottle; __ignore__ refused
    assert [s.category_id for _, s in parsed.segments] == [1, 1, 2]
    assert [r.field for r in parsed.rejections] == ["label"]
    for _, segment in parsed.segments:
        check_mask(segment)
    ungrouped = labelme.read_labelme(interop("labelme_labelme-examples/instance_segmentation/2011_000003.json"))
    assert ungrouped.segments[1][1].area > 0
