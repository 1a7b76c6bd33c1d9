"""Who is calling: the bearer token of a request or socket, read once per request (or per
operation of a long-lived socket), and handed over when a middleware read it already."""

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.sessions import AuthTools, Viewer, authenticate
from gql.core.errors import Unauthenticated

# The caller of the operation running in this task, as a long-lived connection's context
# authenticated it: once per operation, not once per field that asks. Protocol handlers
# clear it when an operation starts (a task inherits its creator's value).
_operation_caller: ContextVar[tuple["Caller", "Viewer | None"] | None] = ContextVar(
    "gql_operation_caller", default=None
)


def new_operation() -> None:
    """Forget the caller of the previous operation in this task's context."""
    _operation_caller.set(None)


# Scope state key: the caller as a middleware already read them for this request.
CALLER_KEY = "gql.caller"


def hand_over_caller(scope: Any, viewer: Viewer | None) -> None:
    """Let the request's context use this reading of the caller instead of its own."""
    scope.setdefault("state", {})[CALLER_KEY] = (viewer,)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; another scheme is refused."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use `Authorization: Bearer <access token>`.")
    return token.strip()


class Caller:
    """The caller part of a request's context: who they are, and what they may do."""

    # Set by the context.
    auth: AuthTools
    authorization: str | None
    long_lived: bool
    _viewer: Viewer | None
    _authenticated: bool
    _auth_lock: asyncio.Lock
    reading: Callable[[], AbstractAsyncContextManager[AsyncSession]]

    async def viewer(self) -> Viewer | None:
        """The authenticated caller, or None when no token came; a bad token is an error."""
        if self.long_lived:
            # Checked afresh for every operation of a long-lived connection, and kept only
            # in the operation's task: an open socket should cost little memory.
            cached = _operation_caller.get()
            if cached is not None and cached[0] is self:
                return cached[1]
            token = bearer_token(self.authorization)
            viewer = None
            if token is not None:
                async with self.reading() as session:
                    viewer = await authenticate(session, self.auth, token)
            _operation_caller.set((self, viewer))
            return viewer
        async with self._auth_lock:
            if not self._authenticated:
                token = bearer_token(self.authorization)
                if token is not None:
                    # Never in a mutation's write transaction: it would begin (and on SQLite
                    # take the writer lock) before the mutation has done its checks.
                    async with self.reading() as session:
                        self._viewer = await authenticate(session, self.auth, token)
                self._authenticated = True
            return self._viewer

    async def require_viewer(self) -> Viewer:
        """The authenticated caller; UNAUTHENTICATED without one."""
        viewer = await self.viewer()
        if viewer is None:
            raise Unauthenticated("Authentication is required.")
        return viewer

    async def permissions(self) -> frozenset[str]:
        """The caller's permissions, read with their session (none without a caller)."""
        viewer = await self.viewer()
        return viewer.permissions if viewer is not None else frozenset()

    def known_access(self) -> tuple[Viewer | None, frozenset[str]] | None:
        """The caller and their permissions when already read, else None (no I/O)."""
        if self.long_lived:
            cached = _operation_caller.get()
            if cached is None or cached[0] is not self:
                return None
            viewer = cached[1]
        elif self._authenticated:
            viewer = self._viewer
        else:
            return None
        return viewer, viewer.permissions if viewer is not None else frozenset()

    def forget_viewer(self) -> None:
        """Authenticate again on next use (after the caller's session changed)."""
        self._viewer = None
        self._authenticated = False
        if self.long_lived:
            _operation_caller.set(None)
