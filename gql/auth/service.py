"""Identity use cases: accounts, logins, token rotation and revocation. Services only flush."""

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth import roles
from gql.auth.errors import EmailTaken, InvalidCredentials, LoginRateLimited, RefreshTokenReused
from gql.auth.models import AuthSession, LoginFailure, User
from gql.auth.passwords import PasswordHasher, check_password_policy
from gql.auth.tokens import InvalidToken, IssuedToken, TokenClaims, TokenCodec, token_digest
from gql.config import Settings
from gql.db import utcnow
from gql.errors import EntityNotFound, InvalidInput

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL = 254
MAX_FULL_NAME = 200


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


def normalize_email(email: str) -> str:
    """The canonical (lower-case, trimmed) form under which an email is stored."""
    return email.strip().lower()


def clean_email(email: str) -> str:
    """A plausible email address, normalized."""
    normalized = normalize_email(email)
    if len(normalized) > MAX_EMAIL or not EMAIL_PATTERN.fullmatch(normalized):
        raise InvalidInput("`email` is not a valid email address.", field="email")
    return normalized


# --- sessions and tokens -------------------------------------------------------------


async def _start_session(
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
    return SignedIn(user, auth_session, access, refresh)


async def register(
    session: AsyncSession,
    tools: AuthTools,
    *,
    email: str,
    password: str,
    full_name: str = "",
    client: Client = Client(),
) -> SignedIn:
    """A new active account, signed in."""
    address = clean_email(email)
    check_password_policy(password, address)
    name = full_name.strip()
    if len(name) > MAX_FULL_NAME:
        raise InvalidInput(
            f"`fullName` is longer than {MAX_FULL_NAME} characters.", field="fullName"
        )
    if await session.scalar(select(User.id).where(User.email == address)) is not None:
        raise EmailTaken("An account with this email already exists.", field="email")
    user = User(
        email=address,
        hashed_password=tools.passwords.hash(password),
        full_name=name,
        is_active=True,
        created_at=tools.clock(),
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        raise EmailTaken("An account with this email already exists.", field="email") from None
    await roles.give_role_by_name(session, user.id, roles.CUSTOMER)
    return await _start_session(session, tools, user, client)


async def ensure_admin(
    session: AsyncSession, tools: AuthTools, *, email: str, password: str | None
) -> bool:
    """Give `email` the admin role, creating the account if needed; True when created."""
    address = clean_email(email)
    user = await session.scalar(select(User).where(User.email == address))
    created = user is None
    if user is None:
        if not password:
            raise InvalidInput("A password is needed to create the account.", field="password")
        check_password_policy(password, address)
        user = User(
            email=address,
            hashed_password=tools.passwords.hash(password),
            full_name="",
            is_active=True,
            created_at=tools.clock(),
        )
        session.add(user)
        await session.flush()
        await roles.give_role_by_name(session, user.id, roles.CUSTOMER)
    user.is_active = True
    await roles.give_role_by_name(session, user.id, roles.ADMIN)
    await session.flush()
    return created


async def _retry_after(
    session: AsyncSession, tools: AuthTools, email: str, ip: str, now: datetime
) -> int:
    """Seconds until a login may be tried again for this account and address (0: now)."""
    settings = tools.settings
    window = timedelta(seconds=settings.login_failure_window_seconds)
    since = now - window
    waits = [0.0]
    for column, value, limit in (
        (LoginFailure.email, email, settings.login_max_failures_per_account),
        (LoginFailure.ip, ip, settings.login_max_failures_per_ip),
    ):
        recent = list(
            await session.scalars(
                select(LoginFailure.created_at)
                .where(column == value, LoginFailure.created_at > since)
                .order_by(LoginFailure.created_at.desc())
                .limit(limit)
            )
        )
        if len(recent) >= limit:
            # Locked until the oldest of the last `limit` failures leaves the window.
            waits.append((recent[-1] + window - now).total_seconds())
    return max(0, math.ceil(max(waits)))


async def login(
    session: AsyncSession,
    tools: AuthTools,
    *,
    email: str,
    password: str,
    client: Client = Client(),
) -> SignedIn:
    """Check the credentials and start a session.

    Raises InvalidCredentials (after recording the failure; commit it) or LoginRateLimited.
    """
    now = tools.clock()
    address = normalize_email(email)[:MAX_EMAIL]
    retry_after = await _retry_after(session, tools, address, client.ip, now)
    if retry_after:
        raise LoginRateLimited(retry_after)
    user = await session.scalar(select(User).where(User.email == address))
    # Unknown accounts are verified against a dummy hash: the same work, the same answer.
    valid, new_hash = tools.passwords.verify_and_update(
        password, user.hashed_password if user else None
    )
    if user is None or not valid or not user.is_active:
        session.add(LoginFailure(email=address, ip=client.ip[:64], created_at=now))
        await session.flush()
        raise InvalidCredentials()
    if new_hash is not None:
        user.hashed_password = new_hash
    await session.execute(delete(LoginFailure).where(LoginFailure.email == address))
    return await _start_session(session, tools, user, client)


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


async def authenticate(session: AsyncSession, tools: AuthTools, access_token: str) -> Viewer:
    """The caller behind an access token, if its session still stands (one statement)."""
    now = tools.clock()
    claims = tools.tokens.decode(access_token, expected_type="access", now=now)
    row = (
        await session.execute(
            select(User, AuthSession.revoked_at, AuthSession.expires_at)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.id == claims.session_id, User.id == claims.user_id)
        )
    ).one_or_none()
    if row is None:
        raise InvalidToken("The session has ended.")
    user, revoked_at, expires_at = row
    if revoked_at is not None or expires_at <= now or not user.is_active:
        raise InvalidToken("The session has ended.")
    return Viewer(user, claims.session_id)


async def _revoke(session: AsyncSession, now: datetime, *conditions: object) -> int:
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def logout(session: AsyncSession, tools: AuthTools, viewer: Viewer) -> int:
    """End the caller's current session."""
    return await _revoke(session, tools.clock(), AuthSession.id == viewer.session_id)


async def logout_all(session: AsyncSession, tools: AuthTools, viewer: Viewer) -> int:
    """End every session of the caller, this one included."""
    return await _revoke(session, tools.clock(), AuthSession.user_id == viewer.user.id)


async def revoke_session(
    session: AsyncSession, tools: AuthTools, viewer: Viewer, session_id: str
) -> None:
    """End one of the caller's own live sessions."""
    revoked = await _revoke(
        session,
        tools.clock(),
        AuthSession.id == session_id,
        AuthSession.user_id == viewer.user.id,
        AuthSession.expires_at > tools.clock(),
    )
    if revoked == 0:
        raise EntityNotFound(f"Session {session_id!r} does not exist.", field="id")


async def change_password(
    session: AsyncSession,
    tools: AuthTools,
    viewer: Viewer,
    *,
    current_password: str,
    new_password: str,
) -> int:
    """Set a new password and end every other session; returns how many were ended."""
    user = await session.get(User, viewer.user.id, with_for_update=True)
    if user is None:
        raise InvalidToken("The session has ended.")
    valid, _ = tools.passwords.verify_and_update(current_password, user.hashed_password)
    if not valid:
        raise InvalidCredentials(field="currentPassword")
    check_password_policy(new_password, user.email, field="newPassword")
    user.hashed_password = tools.passwords.hash(new_password)
    await session.flush()
    return await _revoke(
        session,
        tools.clock(),
        AuthSession.user_id == user.id,
        AuthSession.id != viewer.session_id,
    )


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
