"""Conversion between GraphQL `ID` strings and database ids."""

from gql.core.errors import EntityNotFound

# Id columns are INTEGER (int4 on PostgreSQL): a larger number cannot name a row, and
# PostgreSQL refuses to compare an int4 column with it instead of finding nothing.
MAX_DB_ID = 2**31 - 1


def parse_id(value: str) -> int | None:
    """The database id in an `ID` string, or None when it cannot be one."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_DB_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_DB_ID else None


def require_id(value: str, *, field: str, kind: str) -> int:
    """The database id in an `ID` string; a malformed one names nothing, so it is not found."""
    number = parse_id(value)
    if number is None:
        raise EntityNotFound(f"{kind} {value!r} does not exist.", field=field)
    return number
