"""Account use cases: registration, logins (with the failed-login lockout) and password
changes. Services only flush."""

import math
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth import roles
from gql.auth.errors import EmailTaken, InvalidCredentials, LoginRateLimited
from gql.auth.models import AuthSession, LoginFailure, User
from gql.auth.passwords import check_password_policy
from gql.auth.sessions import AuthTools, Client, SignedIn, Viewer, revoke, start_session
from gql.auth.tokens import InvalidToken
from gql.core.config import Settings
from gql.core.errors import BadUserInput, InvalidInput
from gql.core.text import has_control_characters, has_invisible_characters

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL = 254
MAX_FULL_NAME = 200


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


# --- registration --------------------------------------------------------------------


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
    return await start_session(session, tools, user, client)


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


# --- failed-login lockout: recent failures per account and per address, serialised ---

# pg_advisory_xact_lock(namespace, hashtext(key)) namespaces of the login attempt locks.
ACCOUNT_LOCK_NAMESPACE = 0x67716C61  # "gqla"
ADDRESS_LOCK_NAMESPACE = 0x67716C69  # "gqli"


async def _serialise_attempts(session: AsyncSession, email: str, ip: str) -> None:
    """Make logins of one account, and from one address, wait for each other until commit."""
    # Counting failures, verifying and recording the failure must be one step, or parallel
    # guesses all see the same count. SQLite writers are already serial (BEGIN IMMEDIATE).
    # Always the account first, then the address: one order, so no deadlock.
    if session.get_bind().dialect.name != "postgresql":
        return
    for namespace, key in ((ACCOUNT_LOCK_NAMESPACE, email), (ADDRESS_LOCK_NAMESPACE, ip)):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))"),
            {"namespace": namespace, "key": key},
        )


async def _seconds_until_retry(
    session: AsyncSession, settings: Settings, email: str, ip: str, now: datetime
) -> int:
    """Seconds until a login may be tried again for this account and address (0: now)."""
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
        now = tools.clock()
        retry_after = await _seconds_until_retry(session, tools.settings, address, ip, now)
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
    await _serialise_attempts(session, check.email, check.ip)
    retry_after = await _seconds_until_retry(session, tools.settings, check.email, check.ip, now)
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
    return await start_session(session, tools, user, client)


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
        retry_after = await _seconds_until_retry(
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
    return await revoke(
        session,
        tools.clock(),
        AuthSession.user_id == user.id,
        AuthSession.id != viewer.session_id,
    )
