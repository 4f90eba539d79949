"""The guideline as code: a versioned YAML file validated by a pydantic model.

A guideline holds the project's task type, its classes with their per-class rules,
the agreement thresholds, the routing policy and the consensus method. Every key is
documented in ``docs/guideline.md``. Unknown keys are errors (a typo must not pass
silently), and every error names the file, the key path (``classes[2].min_area``)
and the YAML line, so the author can go straight to it (the YAML is read with its
positions by the private :mod:`qc._guideline_yaml`).

Every round records the guideline it ran under as ``(version, text_hash)``: the
hash is the sha256 of the exact file text, so any edit, even one that leaves
``version`` alone, is visible.

>>> text = '''
... version: "1.0"
... task: instance
... classes:
...   - {id: 1, name: coin, kind: thing, colour: "#d4a017", min_area: 20}
... '''
>>> guideline = parse_guideline(text)
>>> guideline.version, guideline.task.value, guideline.class_by_id(1).name
('1.0', 'instance', 'coin')
>>> guideline.class_by_id(9) is None
True
>>> guideline.text_hash == parse_guideline(text + "# edited\\n").text_hash
False
>>> try:
...     parse_guideline(text.replace("min_area", "min_aera"))
... except GuidelineError as error:
...     print(error.field, "|", error.message.split("?")[0])
classes[0].min_aera | line 5, classes[0].min_aera: unknown key 'min_aera'; did you mean 'min_area'
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from qc import _guideline_yaml
from qc.core import ClassKind, Task
from qc.errors import GuidelineError

__all__ = [
    "ClassRule",
    "Consensus",
    "ConsensusMethod",
    "Gold",
    "Guideline",
    "Routing",
    "Thresholds",
    "load_guideline",
    "parse_guideline",
]

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_STRICT = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ConsensusMethod(StrEnum):
    """How the consensus mask of a match group is made."""

    MAJORITY = "majority"
    STAPLE = "staple"
    WEIGHTED = "weighted"
    AUTO = "auto"


class ClassRule(BaseModel):
    """One class and the rules every segment of it must follow."""

    model_config = _STRICT

    id: int = Field(ge=0)
    name: str = Field(min_length=1)
    kind: ClassKind
    colour: str
    min_area: int = Field(default=0, ge=0)
    max_parts: int | None = Field(default=None, ge=1)
    allow_holes: bool = True
    min_hole_area: int = Field(default=1, ge=1)
    box_tolerance: int = Field(default=0, ge=0)
    min_area_perimeter_ratio: float = Field(default=0.0, ge=0)

    @field_validator("colour")
    @classmethod
    def _colour_is_hex(cls, value: str) -> str:
        if not _COLOUR.match(value):
            raise PydanticCustomError(
                "colour",
                "expected a colour as '#rrggbb' (quote it in YAML: \"#d4a017\"); got {value}",
                {"value": value},
            )
        return value.lower()


class Thresholds(BaseModel):
    """Agreement thresholds and check allowances for the whole project."""

    model_config = _STRICT

    match_iou: float = Field(default=0.5, ge=0, le=1)
    accept_iou: float = Field(default=0.8, ge=0, le=1)
    accept_boundary_iou: float = Field(default=0.6, ge=0, le=1)
    dilation_ratio: float = Field(default=0.02, gt=0, le=1)
    gold_iou: float = Field(default=0.75, ge=0, le=1)
    overlap_allowance: int | float = 0
    void_allowance: float = Field(default=0.0, ge=0, le=1)
    bound_th: float = Field(default=0.008, gt=0)

    @field_validator("overlap_allowance", mode="plain")
    @classmethod
    def _pixels_or_fraction(cls, value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PydanticCustomError(
                "overlap_allowance",
                "expected pixels as an integer (e.g. 25) or a fraction of the smaller segment as a number in "
                "[0, 1] (e.g. 0.05); got {value}",
                {"value": repr(value)},
            )
        if isinstance(value, int) and value < 0:
            raise PydanticCustomError("overlap_allowance", "pixels must be >= 0; got {value}", {"value": value})
        if isinstance(value, float) and not 0.0 <= value <= 1.0:
            raise PydanticCustomError(
                "overlap_allowance",
                "a decimal number is a fraction of the smaller segment and must be in [0, 1]; got {value}. "
                "Write pixels as an integer, e.g. 25",
                {"value": value},
            )
        return value

    def overlap_limit(self, smaller_area: int) -> float:
        """Pixels two segments may share: the allowance itself (int) or its fraction of ``smaller_area`` (float).

        >>> Thresholds(overlap_allowance=5).overlap_limit(1000), Thresholds(overlap_allowance=0.1).overlap_limit(50)
        (5.0, 5.0)
        """
        if isinstance(self.overlap_allowance, int):
            return float(self.overlap_allowance)
        return self.overlap_allowance * smaller_area


class Routing(BaseModel):
    """How images are routed to annotators.

    ``k`` is the overlap when it is fixed and the default of ``k_initial`` and
    ``k_max``; ``k_initial < k_max`` turns on adaptive overlap.
    """

    model_config = _STRICT

    k: int = Field(default=3, ge=1)
    k_initial: int = Field(default=3, ge=1)
    k_max: int = Field(default=3, ge=1)
    gold_rate: float = Field(default=0.0, ge=0, le=1)
    capacity: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_k(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        k = data.get("k", 3)
        if isinstance(k, int):
            data.setdefault("k_initial", k)
            if isinstance(data["k_initial"], int):
                data.setdefault("k_max", max(k, data["k_initial"]))
        return data

    @model_validator(mode="after")
    def _initial_within_max(self) -> Routing:
        if self.k_initial > self.k_max:
            raise PydanticCustomError(
                "k_range",
                "k_initial ({k_initial}) must be at most k_max ({k_max}); raise k_max or lower k_initial",
                {"k_initial": self.k_initial, "k_max": self.k_max, "subloc": ("k_initial",)},
            )
        return self

    @property
    def adaptive(self) -> bool:
        """Whether disagreement escalates to more annotators (``k_initial < k_max``)."""
        return self.k_initial < self.k_max


class Consensus(BaseModel):
    """How agreeing segments become the consensus label."""

    model_config = _STRICT

    method: ConsensusMethod = ConsensusMethod.MAJORITY
    strict: bool = False
    models_vote: bool = False
    """Whether submissions of people with the role ``model`` count toward consensus (they are scored anyway)."""


class Gold(BaseModel):
    """What failing gold images costs an annotator.

    ``pause_after_failures``: an annotator flagged ``gold_mismatch`` on this many gold images of
    the project gets no new assignment (new rounds, follow-ups) until a lead looks;
    ``None`` (the default) never pauses anyone.
    """

    model_config = _STRICT

    pause_after_failures: int | None = Field(default=None, ge=1)


class Guideline(BaseModel):
    """A validated guideline. Build it with :func:`load_guideline` or :func:`parse_guideline`."""

    model_config = _STRICT

    version: str = Field(min_length=1)
    task: Task
    name: str = ""
    description: str = ""
    classes: tuple[ClassRule, ...]
    thresholds: Thresholds = Thresholds()
    routing: Routing = Routing()
    consensus: Consensus = Consensus()
    gold: Gold = Gold()

    _text: str | None = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="<model>")
    _by_id: dict[int, ClassRule] = PrivateAttr(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise PydanticCustomError(
                "version", 'version must be a string; quote it, e.g. version: "{value}"', {"value": value}
            )
        return value

    @field_validator("classes")
    @classmethod
    def _unique_classes(cls, classes: tuple[ClassRule, ...]) -> tuple[ClassRule, ...]:
        if not classes:
            raise PydanticCustomError("no_classes", "a guideline needs at least one class; list them under classes:")
        for key in ("id", "name"):
            seen: dict[Any, int] = {}
            for index, rule in enumerate(classes):
                value = rule.id if key == "id" else rule.name.casefold()
                if value in seen:
                    raise PydanticCustomError(
                        "duplicate_class",
                        "{key} {value} repeats classes[{first}].{key}; every class needs its own {key}",
                        {"key": key, "value": repr(value), "first": seen[value], "subloc": (index, key)},
                    )
                seen[value] = index
        return classes

    def model_post_init(self, context: Any, /) -> None:
        self._by_id = {rule.id: rule for rule in self.classes}

    @property
    def text_hash(self) -> str:
        """sha256 (hex) of the exact guideline text; of the canonical YAML dump when built in Python."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def text(self) -> str:
        """The text this guideline was parsed from (a canonical YAML dump when built in Python)."""
        if self._text is None:
            return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
        return self._text

    @property
    def source(self) -> str:
        """Where the guideline came from: a file path, ``<string>`` or ``<model>``."""
        return self._source

    def class_by_id(self, class_id: int) -> ClassRule | None:
        """The class with id ``class_id``, or ``None`` when the guideline has no such class."""
        return self._by_id.get(class_id)

    def class_ids(self) -> tuple[int, ...]:
        """Every class id, in file order."""
        return tuple(rule.id for rule in self.classes)


_SCHEMA = _guideline_yaml.Schema(
    Guideline,
    {"classes": ClassRule, "thresholds": Thresholds, "routing": Routing, "consensus": Consensus, "gold": Gold},
    own_errors=frozenset({"colour", "overlap_allowance", "version", "k_range", "duplicate_class", "no_classes"}),
)
"""The models and the error types raised here (their messages already quote the value found)."""


def load_guideline(path: str | Path) -> Guideline:
    """Read and validate a guideline YAML file; raises :class:`~qc.errors.GuidelineError` naming key and line."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GuidelineError(f"cannot read the guideline file: {exc}", path=source) from exc
    return parse_guideline(text, source=source)


def parse_guideline(text: str, *, source: str = "<string>") -> Guideline:
    """Validate guideline YAML ``text``; ``source`` names it in errors."""
    node, data = _guideline_yaml.compose(text, source)
    try:
        guideline = Guideline.model_validate(data)
    except ValidationError as exc:
        raise _guideline_yaml.to_guideline_error(exc, node, source, _SCHEMA) from None
    guideline._text = text
    guideline._source = source
    return guideline
