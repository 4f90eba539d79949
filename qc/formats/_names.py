"""Class names to category ids, for the formats that label by name (CVAT, Label Studio, labelme).

With the project's classes (:class:`~qc.formats._base.Category` objects) a name maps to
the class of that name (exact, then ignoring case); an unknown name is refused. Without
them the file's own names are numbered 1, 2, ... in the order given.

>>> names = NameMap([Category(7, "Car"), Category(9, "person")], ["person", "car"])
>>> names.category_id("car"), names.category_id("person")
(7, 9)
>>> NameMap(None, ["b", "a"]).category_id("a")
2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from qc.core import Category
from qc.formats._common import CategoriesArg
from qc.formats._jsonio import Invalid

__all__ = ["NameMap"]


class NameMap:
    """Resolve class names to category ids; :attr:`categories` are the categories to report."""

    def __init__(self, categories: CategoriesArg, file_names: Iterable[str]) -> None:
        given = _given(categories)
        if given:
            self.categories = dict(given)
        else:
            unique = list(dict.fromkeys(file_names))
            self.categories = {i: Category(i, name) for i, name in enumerate(unique, start=1)}
        self._exact = {c.name: c.id for c in self.categories.values()}
        self._folded = {c.name.casefold(): c.id for c in self.categories.values()}

    def category_id(self, name: str, *, field: str = "label") -> int:
        """The id of class ``name``; raises Invalid naming the known classes when there is none."""
        found = self._exact.get(name)
        if found is None:
            found = self._folded.get(name.casefold())
        if found is None:
            known = ", ".join(repr(c.name) for c in list(self.categories.values())[:12])
            raise Invalid(field, f"label {name!r} is not one of the project's classes ({known}); rename the label")
        return found

    def add(self, name: str) -> int:
        """The id of ``name``, numbering it next when it is new (only without project classes)."""
        try:
            return self.category_id(name)
        except Invalid:
            new = max(self.categories, default=0) + 1
            self.categories[new] = Category(new, name)
            self._exact[name] = new
            self._folded.setdefault(name.casefold(), new)
            return new


def _given(categories: CategoriesArg) -> dict[int, Category]:
    if categories is None:
        return {}
    if isinstance(categories, Mapping):
        return {int(k): v for k, v in categories.items()}
    return {c.id: c for c in categories if isinstance(c, Category)}
