"""Access markers on schema fields: every root field is public on purpose or guarded."""

from collections.abc import Mapping
from typing import Any

ACCESS_KEY = "gql.access"
PUBLIC = "public"
AUTHENTICATED = "authenticated"
GUARD_PENDING = "guard-pending"


def public() -> Mapping[str, Any]:
    """Field metadata: open to anonymous callers on purpose."""
    return {ACCESS_KEY: PUBLIC}


def authenticated() -> Mapping[str, Any]:
    """Field metadata: any signed-in caller (the resolver checks it via the context)."""
    return {ACCESS_KEY: AUTHENTICATED}


def guard_pending(permission: str) -> Mapping[str, Any]:
    """Field metadata: must require `permission` once roles exist (the access-control issue)."""
    return {ACCESS_KEY: GUARD_PENDING, "permission": permission}
