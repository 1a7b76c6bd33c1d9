"""What a query selects below a field (fragments included)."""

from collections.abc import Iterator, Sequence
from typing import Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selects(info: strawberry.Info[Any, Any], *path: str) -> bool:
    """Whether the current field's selection reaches `path` (field names, not aliases)."""
    level: list[Selection] = []
    for field in info.selected_fields:
        level.extend(field.selections)
    for name in path:
        matches = [field for field in _fields(level) if field.name == name]
        if not matches:
            return False
        level = [selection for field in matches for selection in field.selections]
    return True


def _fields(selections: Sequence[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection, through inline fragments and fragment spreads."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)
