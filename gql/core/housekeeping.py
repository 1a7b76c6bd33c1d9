"""Background work of the app's lifespan: periodic deletion of expired sessions, stale
login failures and refused orders, and stopping such tasks."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from gql.auth import sessions
from gql.core.db import Database, new_session
from gql.orders import refusals

logger = logging.getLogger("gql.housekeeping")


async def purge_once(database: Database, tools: sessions.AuthTools) -> tuple[int, int]:
    """Delete what has expired; returns how many sessions, and how many login failures and
    refused orders, were deleted."""
    async with new_session(database, write=True) as session:
        ended, failures = await sessions.purge(session, tools)
        failures += await refusals.purge(session, tools.settings, tools.clock())
        await session.commit()
    return ended, failures


async def purge_forever(database: Database, tools: sessions.AuthTools, interval: float) -> None:
    """Purge every `interval` seconds until cancelled; a failed round is logged and retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            ended, failures = await purge_once(database, tools)
            logger.info(
                "purged %d sessions and %d login failures or refused orders", ended, failures
            )
        except Exception:
            logger.exception("purge failed; retrying in %s s", interval)


async def every(
    interval: float, action: Callable[[], Awaitable[object]], *, failure: str, log: logging.Logger
) -> None:
    """Run `action` every `interval` seconds until cancelled; a failed round is logged as
    `failure` and the next one tries again."""
    while True:
        await asyncio.sleep(interval)
        try:
            await action()
        except Exception:
            log.warning("%s; will retry", failure, exc_info=True)


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
