"""Checks on text that comes from clients, shared by every domain."""

import re
import unicodedata

# NUL cannot be stored by PostgreSQL, and lone UTF-16 surrogates have no UTF-8 form (no
# driver and no hash can encode them): either would fail deep inside a query.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# C0 controls, DEL and C1 controls on top of those; multi-line text keeps tab, LF and CR.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Any control character or lone surrogate? With `multiline`, tab, LF and CR are fine."""
    pattern = _CONTROL_BUT_LINE_BREAKS if multiline else _CONTROL
    return pattern.search(value) is not None


def is_storable(value: str) -> bool:
    """Whether every database can store and compare `value` (no NUL, no lone surrogate)."""
    return _UNSTORABLE.search(value) is None


def has_invisible_characters(value: str) -> bool:
    """Any format character (Unicode category Cf): bidirectional controls, zero-width
    spaces and joiners, soft hyphens. They make a name read otherwise than it is."""
    return any(unicodedata.category(character) == "Cf" for character in value)
