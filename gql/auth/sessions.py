"""Login sessions: who a token belongs to, starting and capping sessions, rotating refresh
tokens, revocation, and the tools every identity operation needs."""

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, String, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from gql.auth import roles
from gql.auth.errors import RefreshTokenReused
from gql.auth.models import AuthSession, LoginFailure, User
from gql.auth.passwords import PasswordHasher
from gql.auth.tokens import InvalidToken, IssuedToken, TokenClaims, TokenCodec, token_digest
from gql.core.config import Settings
from gql.core.db import among, utcnow
from gql.core.driver import read_rows
from gql.core.errors import EntityNotFound

SESSION_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class AuthTools:
    """What identity operations need besides the session: policy, hashing, signing, time."""

    settings: Settings
    passwords: PasswordHasher
    tokens: TokenCodec
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> "AuthTools":
        """Build the tools; fails fast on an unusable key or secret."""
        return cls(settings, PasswordHasher(settings), TokenCodec(settings), clock)


@dataclass
class Viewer:
    """The authenticated caller of a request."""

    user: User
    session_id: str
    token_expires_at: datetime | None = None
    # Read in the same statement as the session.
    permissions: frozenset[str] = frozenset()


@dataclass
class SignedIn:
    """A started or refreshed session with its fresh token pair."""

    user: User
    session: AuthSession
    access: IssuedToken
    refresh: IssuedToken


@dataclass(frozen=True)
class Client:
    """Where a request came from, recorded on the sessions it starts."""

    ip: str = ""
    user_agent: str = ""


async def start_session(
    session: AsyncSession, tools: AuthTools, user: User, client: Client
) -> SignedIn:
    now = tools.clock()
    session_id = str(uuid.uuid4())
    access = tools.tokens.issue(
        user_id=user.id, session_id=session_id, token_type="access", now=now
    )
    refresh = tools.tokens.issue(
        user_id=user.id, session_id=session_id, token_type="refresh", now=now
    )
    auth_session = AuthSession(
        id=session_id,
        user_id=user.id,
        refresh_token_hash=token_digest(refresh.token),
        family=str(uuid.uuid4()),
        created_at=now,
        last_used_at=now,
        expires_at=refresh.expires_at,
        user_agent=client.user_agent[:400],
        ip=client.ip[:64],
    )
    session.add(auth_session)
    await session.flush()
    await _end_sessions_beyond_the_cap(session, tools, user.id, auth_session.id, now)
    return SignedIn(user, auth_session, access, refresh)


async def _end_sessions_beyond_the_cap(
    session: AsyncSession, tools: AuthTools, user_id: int, new_session_id: str, now: datetime
) -> None:
    """Keep at most MAX_SESSIONS_PER_USER live sessions: the new one and the most recently
    used others; the rest end now. Logins of one user wait for each other here."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    others = (
        select(AuthSession.id)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.id != new_session_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.last_used_at.desc(), AuthSession.created_at.desc())
        .offset(tools.settings.max_sessions_per_user - 1)
    )
    await revoke(session, now, AuthSession.id.in_(others.scalar_subquery()))


async def refresh(session: AsyncSession, tools: AuthTools, refresh_token: str) -> SignedIn:
    """Exchange a refresh token for a new pair; the presented token is retired.

    A retired token presented again revokes its session (commit that) and raises
    RefreshTokenReused. Of two concurrent exchanges of one token, exactly one succeeds.
    """
    now = tools.clock()
    claims = tools.tokens.decode(refresh_token, expected_type="refresh", now=now)
    access = tools.tokens.issue(
        user_id=claims.user_id, session_id=claims.session_id, token_type="access", now=now
    )
    new_refresh = tools.tokens.issue(
        user_id=claims.user_id, session_id=claims.session_id, token_type="refresh", now=now
    )
    # One conditional UPDATE: the token is exchanged only if it is still the current one.
    rotated = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.id == claims.session_id,
            AuthSession.user_id == claims.user_id,
            AuthSession.refresh_token_hash == token_digest(refresh_token),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .values(
            refresh_token_hash=token_digest(new_refresh.token),
            last_used_at=now,
            expires_at=new_refresh.expires_at,
        )
        .execution_options(synchronize_session=False)
    )
    if rotated.rowcount != 1:  # type: ignore[attr-defined]
        await _reject_refresh(session, claims, now)
    row = (
        await session.execute(
            select(User, AuthSession)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.id == claims.session_id)
        )
    ).one()
    user, auth_session = row
    await session.refresh(auth_session)
    if not user.is_active:
        raise InvalidToken("The session has ended.")
    return SignedIn(user, auth_session, access, new_refresh)


async def _reject_refresh(session: AsyncSession, claims: TokenClaims, now: datetime) -> None:
    current = await session.get(AuthSession, claims.session_id)
    if current is not None and current.revoked_at is None and current.expires_at > now:
        # A genuine token of a live session that is no longer current: it was stolen or
        # replayed. Revoke the whole session, so its newest tokens stop working too.
        current.revoked_at = now
        await session.flush()
        raise RefreshTokenReused("The refresh token was already used; the session is revoked.")
    raise InvalidToken("The session has ended.")


def _scope_columns(dialect: str) -> tuple[Any, ...]:
    """The session's state, whether its user is active, their permissions joined by commas."""
    return (
        AuthSession.revoked_at,
        AuthSession.expires_at,
        User.is_active,
        roles.permission_names_of(User.id, dialect),
    )


@cache
def session_scope_check(dialect: str) -> Select[datetime | None, datetime, bool, str | None]:
    """Core columns, no ORM objects: the session's state, whether its user is active, and
    their permissions joined by commas (bound parameters: session_id, user_id)."""
    return (
        select(*_scope_columns(dialect))
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.id == bindparam("session_id"), User.id == bindparam("user_id"))
    )


# The user's columns, read with the session check as plain values.
_USER_KEYS = tuple(column.key for column in User.__table__.columns)


@cache
def _session_check(dialect: str) -> Select[Any]:
    """`session_scope_check` with the user's columns after its four."""
    return session_scope_check(dialect).add_columns(*(getattr(User, key) for key in _USER_KEYS))


@cache
def sessions_check(dialect: str) -> Select[Any]:
    """`session_check` of several sessions in one statement (bound parameter:
    session_ids, a list on PostgreSQL, a JSON list on SQLite): each row is its session's id
    and user id, then the columns of `session_check`."""
    return (
        select(
            AuthSession.id,
            AuthSession.user_id,
            *_scope_columns(dialect),
            *(getattr(User, key) for key in _USER_KEYS),
        )
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(among(AuthSession.id, "session_ids", String, dialect))
    )


def _detached_user(values: Sequence[Any]) -> User:
    """The caller as read by the session check, detached: in no session, so no rollback
    expires it, and a relationship read would raise rather than seem empty."""
    user = User(**dict(zip(_USER_KEYS, values, strict=True)))
    make_transient_to_detached(user)
    return user


def granted_by(row: Any, now: datetime) -> frozenset[str] | None:
    """The permissions of a `session_scope_check` row while its session stands, else None."""
    revoked_at, expires_at, is_active, names = row[:4]
    if revoked_at is not None or expires_at <= now or not is_active:
        return None
    return frozenset(names.split(",")) if names else frozenset()


async def authenticate(session: AsyncSession, tools: AuthTools, access_token: str) -> Viewer:
    """The caller behind an access token, if its session still stands, with their
    permissions (one statement, no ORM loading)."""
    now = tools.clock()
    claims = tools.tokens.decode(access_token, expected_type="access", now=now)
    statement = _session_check(session.get_bind().dialect.name)
    rows = await read_rows(
        session, statement, {"session_id": claims.session_id, "user_id": claims.user_id}
    )
    viewer = viewer_of(rows[0], claims, now) if rows else None
    if viewer is None:
        raise InvalidToken("The session has ended.")
    return viewer


def session_check(dialect: str) -> Select[Any]:
    """The statement of `authenticate` (bound parameters: session_id, user_id): the
    session's state, the user's permissions, then the user's columns."""
    return _session_check(dialect)


def viewer_of(row: Sequence[Any], claims: TokenClaims, now: datetime) -> Viewer | None:
    """The caller a `session_check` row describes, or None when its session has ended."""
    granted = granted_by(row, now)
    if granted is None:
        return None
    columns = row[4 : 4 + len(_USER_KEYS)]
    return Viewer(_detached_user(columns), claims.session_id, claims.expires_at, granted)


async def revoke(session: AsyncSession, now: datetime, *conditions: object) -> int:
    """End the live sessions that meet `conditions`; how many."""
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def logout(session: AsyncSession, tools: AuthTools, viewer: Viewer) -> int:
    """End the caller's current session."""
    return await revoke(session, tools.clock(), AuthSession.id == viewer.session_id)


async def logout_all(session: AsyncSession, tools: AuthTools, viewer: Viewer) -> int:
    """End every session of the caller, this one included."""
    return await revoke(session, tools.clock(), AuthSession.user_id == viewer.user.id)


async def revoke_session(
    session: AsyncSession, tools: AuthTools, viewer: Viewer, session_id: str
) -> None:
    """End one of the caller's own live sessions."""
    if not SESSION_ID_PATTERN.fullmatch(session_id):
        raise EntityNotFound("The session does not exist.", field="id")
    revoked = await revoke(
        session,
        tools.clock(),
        AuthSession.id == session_id,
        AuthSession.user_id == viewer.user.id,
        AuthSession.expires_at > tools.clock(),
    )
    if revoked == 0:
        raise EntityNotFound("The session does not exist.", field="id")


async def sessions_by_ids(session: AsyncSession, session_ids: list[str]) -> dict[str, AuthSession]:
    """Sessions by id, whoever's and however ended, in one statement."""
    rows = await session.scalars(select(AuthSession).where(AuthSession.id.in_(session_ids)))
    return {row.id: row for row in rows}


async def active_sessions(
    session: AsyncSession, tools: AuthTools, viewer: Viewer
) -> list[AuthSession]:
    """The caller's sessions that still stand, most recently used first."""
    rows = await session.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == viewer.user.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > tools.clock(),
        )
        .order_by(AuthSession.last_used_at.desc(), AuthSession.id)
    )
    return list(rows)


async def purge(session: AsyncSession, tools: AuthTools) -> tuple[int, int]:
    """Delete dead sessions and login failures outside the window; idempotent."""
    now = tools.clock()
    settings = tools.settings
    # A revoked session is kept while access tokens it issued could still be presented.
    revoked_before = now - timedelta(seconds=settings.access_token_ttl_seconds)
    sessions = await session.execute(
        delete(AuthSession).where(
            (AuthSession.expires_at <= now) | (AuthSession.revoked_at <= revoked_before)
        )
    )
    failures = await session.execute(
        delete(LoginFailure).where(
            LoginFailure.created_at
            <= now - timedelta(seconds=settings.login_failure_window_seconds)
        )
    )
    return int(sessions.rowcount), int(failures.rowcount)  # type: ignore[attr-defined]
