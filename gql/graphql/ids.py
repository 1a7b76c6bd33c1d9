"""Global object ids: opaque `ID`s unique across types, base64 of "Type:key" (as
Strawberry's and graphql-relay's), and their database keys."""

import base64
import binascii
import functools
from typing import cast

import strawberry

from gql.core.errors import EntityNotFound

# Id columns are INTEGER (int4 on PostgreSQL): a larger number cannot name a row, and
# PostgreSQL refuses to compare an int4 column with it instead of finding nothing.
MAX_DB_ID = 2**31 - 1
# Session keys are UUIDs (36 characters); no key of any type is longer.
MAX_KEY_LENGTH = 64


# Pages show the same objects again and again: an encoded id is reused, not rebuilt.
@functools.lru_cache(maxsize=16384)
def to_global_id(type_name: str, key: int | str) -> strawberry.ID:
    """The global id of the `type_name` object with database key `key`."""
    return cast(strawberry.ID, base64.b64encode(f"{type_name}:{key}".encode()).decode())


def from_global_id(value: str) -> tuple[str, str] | None:
    """The type name and key in a global id, or None when it is not one."""
    text = value.strip()
    if not text or len(text) > 2 * MAX_KEY_LENGTH or not text.isascii():
        return None
    try:
        decoded = base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    type_name, separator, key = decoded.partition(":")
    if not separator or not type_name or not key or len(key) > MAX_KEY_LENGTH:
        return None
    return type_name, key


def db_id(key: str) -> int | None:
    """A key as a database id, or None when it cannot name a row."""
    if not key.isascii() or not key.isdigit() or len(key) > len(str(MAX_DB_ID)):
        return None
    number = int(key)
    return number if 0 < number <= MAX_DB_ID else None


def parse_key(value: str, *type_names: str) -> str | None:
    """The key in a global id of one of `type_names`, or None."""
    parsed = from_global_id(value)
    if parsed is None or parsed[0] not in type_names:
        return None
    return parsed[1]


def parse_id(value: str, *type_names: str) -> int | None:
    """The database id in a global id of one of `type_names`, or None."""
    key = parse_key(value, *type_names)
    return db_id(key) if key is not None else None


def require_id(value: str, *, field: str, type_name: str) -> int:
    """The database id of a `type_name` global id; a malformed id, or one of another type,
    names nothing, so it is not found."""
    number = parse_id(value, type_name)
    if number is None:
        raise EntityNotFound(f"{type_name} {value!r} does not exist.", field=field)
    return number
