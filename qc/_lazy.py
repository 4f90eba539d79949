"""Public names of a package imported from their private modules on first use (PEP 562).

A package lists where each public name lives; its module ``__getattr__`` and ``__dir__`` come
from :func:`lazy_names`, so that ``import qc.rounds`` costs nothing until a name is used
(``qc round status`` imports the status module, not scoring).

>>> import types
>>> module = types.ModuleType("demo_pkg")
>>> import sys; sys.modules["demo_pkg"] = module
>>> module.__getattr__, module.__dir__ = lazy_names("demo_pkg", {"dumps": "json"}, ["dumps"])
>>> module.dumps([1])
'[1]'
>>> "dumps" in vars(module)  # kept once imported
True
>>> module.loads
Traceback (most recent call last):
...
AttributeError: module 'demo_pkg' has no attribute 'loads'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, homes: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name of ``homes`` imported from its module."""
    listed = frozenset(public)

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(homes[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *listed})

    return __getattr__, __dir__
