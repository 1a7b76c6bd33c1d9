"""Conversion between GraphQL `ID` strings and database ids."""

from gql.errors import EntityNotFound

MAX_DB_ID = 2**63 - 1


def parse_id(value: str) -> int | None:
    """The database id in an `ID` string, or None when it cannot be one."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_DB_ID else None


def require_id(value: str, *, field: str, kind: str) -> int:
    """The database id in an `ID` string; a malformed one names nothing, so it is not found."""
    number = parse_id(value)
    if number is None:
        raise EntityNotFound(f"{kind} {value!r} does not exist.", field=field)
    return number
