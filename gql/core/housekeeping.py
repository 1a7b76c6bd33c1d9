"""Periodic deletion of expired sessions, stale login failures and refused orders."""

import asyncio
import logging

from gql.auth import service
from gql.core.db import Database, new_session
from gql.orders import refusals

logger = logging.getLogger("gql.housekeeping")


async def purge_once(database: Database, tools: service.AuthTools) -> tuple[int, int]:
    """Delete what has expired; returns how many sessions, and how many login failures and
    refused orders, were deleted."""
    async with new_session(database, write=True) as session:
        sessions, failures = await service.purge(session, tools)
        failures += await refusals.purge(session, tools.settings, tools.clock())
        await session.commit()
    return sessions, failures


async def purge_forever(database: Database, tools: service.AuthTools, interval: float) -> None:
    """Purge every `interval` seconds until cancelled; a failed round is logged and retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            sessions, failures = await purge_once(database, tools)
            logger.info(
                "purged %d sessions and %d login failures or refused orders", sessions, failures
            )
        except Exception:
            logger.exception("purge failed; retrying in %s s", interval)
