"""Failed-login lockout: counting recent failures per account and per address, serialised."""

import math
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import LoginFailure
from gql.core.config import Settings

# pg_advisory_xact_lock(namespace, hashtext(key)) namespaces of the login attempt locks.
ACCOUNT_LOCK_NAMESPACE = 0x67716C61  # "gqla"
ADDRESS_LOCK_NAMESPACE = 0x67716C69  # "gqli"


async def serialise_attempts(session: AsyncSession, email: str, ip: str) -> None:
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


async def retry_after(
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
