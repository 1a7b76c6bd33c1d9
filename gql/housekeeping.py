"""Periodic deletion of expired sessions and stale login failures."""

import asyncio
import logging

from gql.auth import service
from gql.db import Database, new_session

logger = logging.getLogger("gql.housekeeping")


async def purge_once(database: Database, tools: service.AuthTools) -> tuple[int, int]:
    """Delete what has expired; returns (sessions, login failures) deleted."""
    async with new_session(database, write=True) as session:
        counts = await service.purge(session, tools)
        await session.commit()
    return counts


async def purge_forever(database: Database, tools: service.AuthTools, interval: float) -> None:
    """Purge every `interval` seconds until cancelled; a failed round is logged and retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            sessions, failures = await purge_once(database, tools)
            logger.info("purged %d sessions and %d login failures", sessions, failures)
        except Exception:
            logger.exception("purge failed; retrying in %s s", interval)
