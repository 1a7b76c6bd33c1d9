"""Identity use cases: accounts, logins, token rotation and revocation. Services only flush."""

import re
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from gql.auth import lockout, roles
from gql.auth.errors import EmailTaken, InvalidCredentials, LoginRateLimited, RefreshTokenReused
from gql.auth.models import AuthSession, LoginFailure, User
from gql.auth.passwords import PasswordHasher, check_password_policy
from gql.auth.tokens import InvalidToken, IssuedToken, TokenClaims, TokenCodec, token_digest
from gql.core.config import Settings
from gql.core.db import read_rows, utcnow
from gql.core.errors import BadUserInput, EntityNotFound, InvalidInput
from gql.core.text import has_control_characters, has_invisible_characters

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SESSION_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
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


def normalize_email(email: str) -> str:
    """The canonical (lower-case, trimmed) form under which an email is stored."""
    return email.strip().lower()


def clean_email(email: str) -> str:
    """A plausible email address, normalized."""
    normalized = normalize_email(email)
    if (
        len(normalized) > MAX_EMAIL
        or not EMAIL_PATTERN.fullmatch(normalized)
        or has_control_characters(normalized)
    ):
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
    await _revoke(session, now, AuthSession.id.in_(others.scalar_subquery()))


# Opens a session that only reads (Context.reading).
Reading = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class Registration:
    """A checked sign-up: clean values and the password's hash, nothing written yet."""

    email: str
    full_name: str
    hashed_password: str


async def prepare_registration(
    reading: Reading, tools: AuthTools, *, email: str, password: str, full_name: str = ""
) -> Registration:
    """Validate a sign-up and hash its password: reads in a session of `reading` released
    before the hash (~100 ms of CPU by design), so no lock or connection is held through
    it. Call it before the write transaction."""
    address = clean_email(email)
    check_password_policy(password, address)
    name = full_name.strip()
    if len(name) > MAX_FULL_NAME:
        raise InvalidInput(
            f"`fullName` is longer than {MAX_FULL_NAME} characters.", field="fullName"
        )
    if has_control_characters(name) or has_invisible_characters(name):
        raise InvalidInput(
            "`fullName` must not contain control, bidirectional or invisible characters.",
            field="fullName",
        )
    async with reading() as session:
        taken = await session.scalar(select(User.id).where(User.email == address))
    if taken is not None:
        raise EmailTaken("An account with this email already exists.", field="email")
    return Registration(address, name, await tools.passwords.hash_in_thread(password))


async def register(
    session: AsyncSession,
    tools: AuthTools,
    registration: Registration,
    *,
    client: Client = Client(),
) -> SignedIn:
    """A new active account, signed in (a short write: the hash is already made)."""
    user = User(
        email=registration.email,
        hashed_password=registration.hashed_password,
        full_name=registration.full_name,
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
            hashed_password=await tools.passwords.hash_in_thread(password),
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


@dataclass(frozen=True)
class PasswordCheck:
    """A password checked against an account's hash, outside any write transaction, and
    what may be written of it afterwards."""

    email: str
    ip: str
    user_id: int | None
    # The hash it was checked against: the write that follows makes sure it still stands.
    checked_hash: str | None
    valid: bool
    # The password hashed anew with the current parameters, when they changed.
    new_hash: str | None


async def check_login(
    reading: Reading,
    tools: AuthTools,
    *,
    email: str,
    password: str,
    client: Client = Client(),
) -> PasswordCheck:
    """Refuse a locked-out login early, then verify the password, with no session held
    through the hash (call it before the write transaction; `finish_login` records the
    outcome).

    Raises LoginRateLimited, or BadUserInput for control characters in the email or
    password."""
    address = normalize_email(email)[:MAX_EMAIL]
    # Refused before any counting: no account could have such an email or password.
    for value, field in ((address, "email"), (password, "password")):
        if has_control_characters(value):
            raise BadUserInput(f"`{field}` must not contain control characters.", field=field)
    ip = client.ip[:64]
    async with reading() as session:
        retry_after = await lockout.retry_after(session, tools.settings, address, ip, tools.clock())
        if retry_after:
            raise LoginRateLimited(retry_after)
        row = (
            await session.execute(
                select(User.id, User.hashed_password, User.is_active).where(User.email == address)
            )
        ).first()
    # Unknown accounts are verified against a dummy hash: the same work, the same answer.
    valid, new_hash = await tools.passwords.verify_and_update_in_thread(
        password, row.hashed_password if row is not None else None
    )
    if row is None or not row.is_active:
        return PasswordCheck(address, ip, None, None, False, None)
    return PasswordCheck(address, ip, row.id, row.hashed_password, valid, new_hash)


async def _admit(session: AsyncSession, tools: AuthTools, check: PasswordCheck) -> datetime:
    """Count the attempt under the account's and the address's lock: refused when
    concurrent failures used the budget up meanwhile (whatever the password), so parallel
    guesses get no more tries than sequential ones."""
    now = tools.clock()
    await lockout.serialise_attempts(session, check.email, check.ip)
    retry_after = await lockout.retry_after(session, tools.settings, check.email, check.ip, now)
    if retry_after:
        raise LoginRateLimited(retry_after)
    return now


async def _record_failure(session: AsyncSession, check: PasswordCheck, now: datetime) -> None:
    session.add(LoginFailure(email=check.email, ip=check.ip, created_at=now))
    await session.flush()


async def finish_login(
    session: AsyncSession, tools: AuthTools, check: PasswordCheck, client: Client = Client()
) -> SignedIn:
    """Record a checked login (a short write transaction): a failure is counted (raises
    InvalidCredentials: commit it), a success starts a session."""
    now = await _admit(session, tools, check)
    user = await session.get(User, check.user_id) if check.user_id is not None else None
    if (
        user is None
        or not check.valid
        or not user.is_active
        or user.hashed_password != check.checked_hash
    ):
        await _record_failure(session, check, now)
        raise InvalidCredentials()
    if check.new_hash is not None:
        user.hashed_password = check.new_hash
    await session.execute(delete(LoginFailure).where(LoginFailure.email == check.email))
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


@cache
def session_scope_check(dialect: str) -> Select[datetime | None, datetime, bool, str | None]:
    """Core columns, no ORM objects: the session's state, whether its user is active, and
    their permissions joined by commas (bound parameters: session_id, user_id)."""
    return (
        select(
            AuthSession.revoked_at,
            AuthSession.expires_at,
            User.is_active,
            roles.permission_names_of(User.id, dialect),
        )
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.id == bindparam("session_id"), User.id == bindparam("user_id"))
    )


# The user's columns, read with the session check as plain values.
_USER_KEYS = tuple(column.key for column in User.__table__.columns)


@cache
def _session_check(dialect: str) -> Select[Any]:
    """`session_scope_check` with the user's columns after its four."""
    return session_scope_check(dialect).add_columns(*(getattr(User, key) for key in _USER_KEYS))


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
    if not SESSION_ID_PATTERN.fullmatch(session_id):
        raise EntityNotFound(f"Session {session_id!r} does not exist.", field="id")
    revoked = await _revoke(
        session,
        tools.clock(),
        AuthSession.id == session_id,
        AuthSession.user_id == viewer.user.id,
        AuthSession.expires_at > tools.clock(),
    )
    if revoked == 0:
        raise EntityNotFound(f"Session {session_id!r} does not exist.", field="id")


async def check_password_change(
    reading: Reading,
    tools: AuthTools,
    viewer: Viewer,
    *,
    current_password: str,
    new_password: str,
    client: Client = Client(),
) -> tuple[PasswordCheck, str | None]:
    """Verify the current password and hash the new one, with no session held through the
    hashes (call it before the write transaction). Counted with the account's failed
    logins: raises LoginRateLimited while they lock it. The new password's hash is None
    when the current one is wrong."""
    if has_control_characters(current_password):
        raise InvalidInput(
            "`currentPassword` must not contain control characters.", field="currentPassword"
        )
    user = viewer.user
    ip = client.ip[:64]
    async with reading() as session:
        retry_after = await lockout.retry_after(
            session, tools.settings, user.email, ip, tools.clock()
        )
        if retry_after:
            raise LoginRateLimited(retry_after)
        stored = await session.scalar(select(User.hashed_password).where(User.id == user.id))
    if stored is None:
        raise InvalidToken("The session has ended.")
    valid, _ = await tools.passwords.verify_and_update_in_thread(current_password, stored)
    check = PasswordCheck(user.email, ip, user.id, stored, valid, None)
    if not valid:
        return check, None
    check_password_policy(new_password, user.email, field="newPassword")
    return check, await tools.passwords.hash_in_thread(new_password)


async def change_password(
    session: AsyncSession,
    tools: AuthTools,
    viewer: Viewer,
    check: PasswordCheck,
    new_hash: str | None,
) -> int:
    """Record a checked password change (a short write transaction): a wrong current
    password is counted as a failed login (raises InvalidCredentials: commit it); a right
    one sets the new hash and ends every other session, returning how many."""
    now = await _admit(session, tools, check)
    user = await session.get(User, viewer.user.id, with_for_update=True)
    if user is None:
        raise InvalidToken("The session has ended.")
    if new_hash is None or user.hashed_password != check.checked_hash:
        await _record_failure(session, check, now)
        raise InvalidCredentials(field="currentPassword")
    user.hashed_password = new_hash
    await session.execute(delete(LoginFailure).where(LoginFailure.email == check.email))
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
