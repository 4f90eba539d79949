"""Strict JSON loading and field checks shared by the JSON readers.

:func:`load_json` never raises for bad content: a file that does not parse gives
one :class:`~qc.formats._base.Rejection` and no data. Only a path that cannot be
read at all raises :class:`~qc.errors.FormatError`. ``NaN``/``Infinity`` literals
and floats that overflow (``1e999``) become :class:`NonFinite` placeholders, so the
field checks refuse the one item holding them instead of the whole file; objects
that repeat a key remember it (:class:`JsonObject`) so nothing is silently
overwritten.

>>> data = json_loads('{"a": NaN, "b": [1e999, 2.5]}')
>>> data["a"], data["b"]
(NaN, [1e999, 2.5])
>>> get_number(data, "a")
Traceback (most recent call last):
...
qc.formats._jsonio.Invalid: 'a' must be a finite number; got NaN (a non-finite number)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from qc.errors import FormatError
from qc.formats._base import Rejection

__all__ = [
    "Invalid",
    "JsonObject",
    "NonFinite",
    "check_keys_unique",
    "check_optional_numbers",
    "describe",
    "get_flag",
    "get_id",
    "get_int",
    "get_list",
    "get_number",
    "get_str",
    "is_int",
    "is_number",
    "json_loads",
    "load_json",
    "read_bytes",
]


class Invalid(Exception):
    """One field of one item is unusable; the reader turns it into a :class:`Rejection`."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


class NonFinite:
    """A JSON number that is not finite: ``NaN``, ``Infinity``, ``-Infinity`` or an overflowing float."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class JsonObject(dict[str, Any]):
    """A JSON object that remembers keys it saw more than once (the last value is kept)."""

    duplicates: tuple[str, ...] = ()


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes; :class:`FormatError` when the path cannot be read at all."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise FormatError(
            f"cannot read the file ({reason}); check that the path exists, is a file and is readable",
            path=str(path),
        ) from exc


def json_loads(text: str) -> Any:
    """``json.loads`` with :class:`NonFinite` placeholders and :class:`JsonObject` objects."""
    return json.loads(text, parse_constant=NonFinite, parse_float=_parse_float, object_pairs_hook=_object)


def load_json(path: str | os.PathLike[str]) -> tuple[Any, Rejection | None]:
    """Parse a JSON file: ``(data, None)``, or ``(None, rejection)`` when it is not valid JSON."""
    raw = read_bytes(path)
    name = os.fspath(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, Rejection(
            name,
            None,
            None,
            None,
            f"the file is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}); re-save it as UTF-8 JSON",
        )
    try:
        data = json_loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) else ""
        return None, Rejection(
            name,
            None,
            None,
            None,
            f"the file is not valid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "fix the JSON syntax or export the file again",
        )
    except (RecursionError, ValueError) as exc:
        return None, Rejection(
            name, None, None, None, f"the JSON cannot be read ({type(exc).__name__}: {exc}); export the file again"
        )
    if isinstance(data, JsonObject) and data.duplicates:
        return None, Rejection(
            name,
            None,
            None,
            None,
            f"top-level key(s) {', '.join(map(repr, data.duplicates))} appear more than once, so it is "
            "ambiguous which one holds the data; keep one of each",
        )
    return data, None


def describe(value: Any) -> str:
    """A short phrase for a found value, e.g. ``true (a boolean)``."""
    if isinstance(value, NonFinite):
        return f"{value.text} (a non-finite number)"
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}
    kind = "an object" if isinstance(value, dict) else kinds.get(type(value), type(value).__name__)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} ({kind})"
    text = repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({kind})"


def check_keys_unique(item: Any) -> None:
    """Refuse an object that repeats a key (JSON keeps only the last, silently)."""
    if isinstance(item, JsonObject) and item.duplicates:
        raise Invalid(
            item.duplicates[0], f"key {item.duplicates[0]!r} appears more than once in one object; keep only one"
        )


def get_int(item: dict[str, Any], key: str, *, minimum: int | None = None) -> int:
    """A required integer (``true``/``false`` and ``3.0`` are refused)."""
    value = _required(item, key, "an integer")
    if not is_int(value):
        raise Invalid(key, f"{key!r} must be an integer; got {describe(value)}")
    if minimum is not None and value < minimum:
        raise Invalid(key, f"{key!r} must be at least {minimum}; got {value}")
    return int(value)


def get_id(item: dict[str, Any], key: str) -> int | str:
    """A required id: an integer or a non-empty string (never a boolean, float or null)."""
    value = _required(item, key, "an integer or string id")
    if is_int(value) or (isinstance(value, str) and value):
        return value
    raise Invalid(key, f"{key!r} must be an integer or a non-empty string id; got {describe(value)}")


def get_str(item: dict[str, Any], key: str) -> str:
    """A required string."""
    value = _required(item, key, "a string")
    if not isinstance(value, str):
        raise Invalid(key, f"{key!r} must be a string; got {describe(value)}")
    return value


def get_list(item: dict[str, Any], key: str) -> list[Any]:
    """A required list."""
    value = _required(item, key, "a list")
    if not isinstance(value, list):
        raise Invalid(key, f"{key!r} must be a list; got {describe(value)}")
    return value


def get_number(item: dict[str, Any], key: str) -> float:
    """A required finite number (booleans refused)."""
    value = _required(item, key, "a number")
    if not is_number(value):
        raise Invalid(key, f"{key!r} must be a finite number; got {describe(value)}")
    return float(value)


def get_flag(item: dict[str, Any], key: str, *, default: bool = False) -> bool:
    """An optional 0/1 flag such as ``iscrowd`` (``true``/``false`` accepted too)."""
    if key not in item:
        return default
    value = item[key]
    if isinstance(value, bool) or (is_int(value) and value in (0, 1)):
        return bool(value)
    raise Invalid(key, f"{key!r} must be 0 or 1; got {describe(value)}")


def check_optional_numbers(item: dict[str, Any], key: str, count: int | None = None) -> None:
    """An optional number (``count is None``) or list of ``count`` numbers must be finite when present."""
    if key not in item:
        return
    value = item[key]
    if count is None:
        if not is_number(value):
            raise Invalid(key, f"{key!r} must be a finite number when present; got {describe(value)}")
        return
    if not isinstance(value, list) or len(value) != count or not all(is_number(v) for v in value):
        raise Invalid(key, f"{key!r} must be a list of {count} finite numbers when present; got {describe(value)}")


# --- internals -------------------------------------------------------------------------------------------

_MAX_FLOAT_INT = 2**53


def _required(item: dict[str, Any], key: str, expected: str) -> Any:
    if key not in item:
        raise Invalid(key, f"the key {key!r} is missing; it must hold {expected}")
    return item[key]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite JSON number that also fits a float (huge integers do not)."""
    if is_int(value):
        return bool(abs(value) <= _MAX_FLOAT_INT)
    return isinstance(value, float) and math.isfinite(value)


def _parse_float(text: str) -> float | NonFinite:
    value = float(text)
    return value if math.isfinite(value) else NonFinite(text)


def _object(pairs: list[tuple[str, Any]]) -> JsonObject:
    result = JsonObject(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        repeated: dict[str, None] = {}
        for key, _ in pairs:
            if key in seen:
                repeated[key] = None
            seen.add(key)
        result.duplicates = tuple(repeated)
    return result
