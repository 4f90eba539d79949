"""The Label Studio labeling config of a guideline: brush and polygon labels in the guideline's colours (pure).

>>> from qc.guideline import parse_guideline
>>> g = parse_guideline('''
... version: "1"
... task: instance
... classes:
...   - {id: 1, name: coin, kind: thing, colour: "#d4a017"}
... ''')
>>> print(label_config(g.classes))
<View>
  <Image name="image" value="$image" zoom="true"/>
  <BrushLabels name="label" toName="image">
    <Label value="coin" background="#d4a017"/>
  </BrushLabels>
  <PolygonLabels name="polygon" toName="image">
    <Label value="coin" background="#d4a017"/>
  </PolygonLabels>
  <TextArea name="qc_feedback" toName="image" editable="false" perRegion="false" placeholder="qc feedback"/>
</View>
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import quoteattr

from qc.formats.labelstudio import FEEDBACK_FIELD
from qc.guideline import ClassRule

__all__ = ["BRUSH_NAME", "IMAGE_NAME", "POLYGON_NAME", "label_config"]

IMAGE_NAME = "image"
"""The ``Image`` tag's name (``to_name`` of every region) and the task data key of the image."""
BRUSH_NAME = "label"
"""The ``BrushLabels`` tag's name: the ``from_name`` the rework pre-annotations use."""
POLYGON_NAME = "polygon"


def label_config(classes: Iterable[ClassRule]) -> str:
    """The labeling config: an image, brush and polygon labels per class (name, colour), the feedback text area."""
    labels = "".join(f"    <Label value={quoteattr(c.name)} background={quoteattr(c.colour)}/>\n" for c in classes)
    return (
        "<View>\n"
        f'  <Image name="{IMAGE_NAME}" value="${IMAGE_NAME}" zoom="true"/>\n'
        f'  <BrushLabels name="{BRUSH_NAME}" toName="{IMAGE_NAME}">\n{labels}  </BrushLabels>\n'
        f'  <PolygonLabels name="{POLYGON_NAME}" toName="{IMAGE_NAME}">\n{labels}  </PolygonLabels>\n'
        f'  <TextArea name="{FEEDBACK_FIELD}" toName="{IMAGE_NAME}" editable="false" perRegion="false" '
        'placeholder="qc feedback"/>\n'
        "</View>"
    )
