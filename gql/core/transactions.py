"""Mutations' transactions, retried when PostgreSQL aborts them for a deadlock or conflict."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.errors import ServiceUnavailable
from gql.graphql.context import Context

T = TypeVar("T")
logger = logging.getLogger("gql.transactions")

# deadlock_detected, serialization_failure: the transaction did nothing; run it again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 4
CONTENTION_MESSAGE = "Too many concurrent changes to the same records; try again."


class Contention(ServiceUnavailable):
    """Every attempt was aborted by PostgreSQL: coded SERVICE_UNAVAILABLE, safe to retry."""


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)


async def run_transaction(
    context: Context,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    commit_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Run `work` in the mutation's transaction and commit once, retrying aborted attempts.

    After ATTEMPTS aborted attempts the caller gets SERVICE_UNAVAILABLE (nothing changed).
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with context.transaction(commit_on=commit_on) as session:
                return await work(session)
        except DBAPIError as error:
            if _sqlstate(error) not in RETRYABLE_SQLSTATES:
                raise
            if attempt == ATTEMPTS:
                logger.warning(
                    "transaction aborted (%s) %d times; giving up",
                    _sqlstate(error),
                    ATTEMPTS,
                    exc_info=True,
                )
                raise Contention(CONTENTION_MESSAGE) from error
            logger.info("transaction aborted (%s); retry %d", _sqlstate(error), attempt)
            await asyncio.sleep(random.uniform(0.002, 0.02) * attempt)  # noqa: S311 (jitter)
    raise AssertionError("unreachable")
