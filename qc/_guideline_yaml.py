"""A guideline's YAML read with positions, and pydantic's errors turned into one :class:`GuidelineError`.

Private to :mod:`qc.guideline`: :func:`compose` parses the text once into its node tree
(for line numbers) and its data, refusing duplicate keys; :func:`to_guideline_error`
names every problem by key path and line, and offers "did you mean" for a misspelt key.

Bombs are refused before they cost anything: the nesting depth is measured on the parser's
events (which need no recursion) before the tree is composed, and the node count with every
alias expanded (counted once per node, so a billion-laughs file costs no more than its text)
must stay within :data:`~qc.limits.MAX_YAML_NODES` before the tree is walked or validated.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from qc.errors import GuidelineError
from qc.limits import MAX_YAML_DEPTH, MAX_YAML_NODES


@dataclass(frozen=True)
class Schema:
    """The model of the whole file, the models of its nested mappings (by top-level key), and the
    error types its own validators raise (their messages already quote the value found)."""

    root: type[BaseModel]
    nested: Mapping[str, type[BaseModel]]
    own_errors: frozenset[str]

    def model_at(self, loc: tuple[Any, ...]) -> type[BaseModel] | None:
        """The model class that validates the mapping at ``loc`` (for listing its valid keys)."""
        if not loc:
            return self.root
        return self.nested.get(str(loc[0]))


def compose(text: str, source: str) -> tuple[yaml.Node, Any]:
    """Parse YAML once into its node tree (for line numbers) and its Python data."""
    loader = yaml.SafeLoader(text)
    try:
        _check_depth(text, source)
        node = loader.get_single_node()
        if node is None:
            raise GuidelineError(
                "the guideline is empty; expected a mapping with version, task and classes", path=source
            )
        _check_expanded_size(node, source)
        _reject_duplicate_keys(node, source)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise GuidelineError(f"{line}not valid YAML: {exc}", path=source) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise GuidelineError(
            f"line {node.start_mark.line + 1}: expected a mapping of keys (version, task, classes, ...); "
            f"got {type(data).__name__}",
            path=source,
        )
    return node, data


def _check_depth(text: str, source: str) -> None:
    """Refuse nesting deeper than :data:`~qc.limits.MAX_YAML_DEPTH`, from the parser's events (no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise GuidelineError(
                    f"line {event.start_mark.line + 1}: the YAML nests more than {MAX_YAML_DEPTH} lists and mappings "
                    "deep; a guideline needs 4 (classes, a class, its keys): remove the extra brackets",
                    path=source,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_expanded_size(root: yaml.Node, source: str) -> None:
    """Refuse a tree of more than :data:`~qc.limits.MAX_YAML_NODES` nodes once aliases are expanded, or a cycle."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known == -1:
            raise GuidelineError(
                f"line {node.start_mark.line + 1}: an alias refers to the anchor that contains it (a cycle); "
                "write the value out instead",
                path=source,
            )
        if known is not None:
            return known
        sizes[id(node)] = -1
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        total = 1 + sum(size(child) for child in children) if isinstance(node, yaml.CollectionNode) else 1
        sizes[id(node)] = total
        return total

    total = size(root)
    if total > MAX_YAML_NODES:
        raise GuidelineError(
            f"the YAML expands to {total:,} values once its aliases (*name) are resolved, more than the "
            f"{MAX_YAML_NODES:,} a guideline may hold; write the values out instead of nesting aliases",
            path=source,
        )


def _reject_duplicate_keys(node: yaml.Node, source: str, path: str = "") -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise GuidelineError(
                    f"line {line}, {_join(path, key)}: key {key!r} appears twice (first on line {seen[key]}); keep one",
                    path=source,
                    field=_join(path, key),
                )
            seen[key] = line
            _reject_duplicate_keys(value_node, source, _join(path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, source, f"{path}[{index}]")


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest node that ``loc`` reaches (the key itself for mapping keys)."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                return line
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def to_guideline_error(exc: ValidationError, node: yaml.Node, source: str, schema: Schema) -> GuidelineError:
    """One error naming every problem by line and key path, sorted by line."""
    errors = [(tuple(e["loc"]) + tuple(e.get("ctx", {}).get("subloc", ())), e) for e in exc.errors(include_url=False)]
    # a misspelt required key gives "unknown key" and "missing": keep the one that says "did you mean"
    misspelt = {(*loc[:-1], _closest_key(loc, schema)) for loc, e in errors if e["type"] == "extra_forbidden"}
    problems: list[tuple[int, str, str]] = []
    for loc, error in errors:
        if error["type"] == "missing" and loc in misspelt:
            continue
        key = ""
        for part in loc:
            key = _join(key, part)
        problems.append((_line_of(node, loc), key or "(top level)", _describe(error, loc, schema)))
    problems.sort(key=lambda problem: problem[0])
    lines = [f"line {line}, {key}: {message}" for line, key, message in problems]
    head = lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n  " + "\n  ".join(lines)
    return GuidelineError(head, path=source, field=problems[0][1])


def _describe(error: Any, loc: tuple[Any, ...], schema: Schema) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc, schema)
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind in schema.own_errors:
        return str(error["msg"])
    if kind == "enum" and isinstance(error["input"], str):
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        near = difflib.get_close_matches(error["input"], choices, n=1)
        if near:
            return f"{error['msg']}; got {error['input']!r}: did you mean {near[0]!r}?"
    return f"{error['msg']}; got {error['input']!r}"


def _closest_key(loc: tuple[Any, ...], schema: Schema) -> str | None:
    model = schema.model_at(loc[:-1])
    near = difflib.get_close_matches(str(loc[-1]), list(model.model_fields) if model else [], n=1)
    return near[0] if near else None


def _unknown_key(loc: tuple[Any, ...], schema: Schema) -> str:
    model = schema.model_at(loc[:-1])
    valid = list(model.model_fields) if model is not None else []
    near = _closest_key(loc, schema)
    hint = f"did you mean {near!r}? " if near else ""
    return f"unknown key {loc[-1]!r}; {hint}valid keys here: {', '.join(valid)}"
