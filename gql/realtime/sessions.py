"""The periodic check of live subscriptions: sessions revoked or expired end theirs,
changed permissions move them to the matching group (or end them)."""

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from gql.auth import roles
from gql.auth.models import AuthSession, User
from gql.core.db import new_session, utcnow
from gql.realtime.subscribers import Subscriber

if TYPE_CHECKING:
    from gql.realtime.hub import StockEventHub

logger = logging.getLogger("gql.events")


class SessionWatch:
    """Every `auth_check_seconds`, one statement re-checks every subscriber's session."""

    def __init__(self, hub: "StockEventHub", auth_check_seconds: float) -> None:
        self.hub = hub
        self.auth_check_seconds = auth_check_seconds

    async def run(self) -> None:
        """End subscriptions whose login session was revoked or whose token expired."""
        while True:
            await asyncio.sleep(self.auth_check_seconds)
            try:
                await self.check()
            except Exception:
                logger.warning("checking subscriber sessions failed", exc_info=True)

    async def check(self) -> None:
        """One check of every subscriber's session and permissions."""
        now = utcnow()
        watched = [s for s in self.hub.subscribers if s.session_id is not None]
        for subscriber in watched:
            if subscriber.expires_at is not None and subscriber.expires_at <= now:
                subscriber.end(Subscriber.EXPIRED)
        session_ids = {s.session_id for s in watched if s.end_reason is None}
        if not session_ids:
            return
        scoped = [s for s in watched if s.scope is not None and s.user_id is not None]
        permissions = roles.permission_names_of(User.id, self.hub.database.engine.dialect.name)
        async with new_session(self.hub.database, write=False, transaction=False) as session:
            # One statement for every subscriber: the sessions that stand, and what each
            # of their users may do now.
            rows = (
                await session.execute(
                    select(AuthSession.id, AuthSession.user_id, permissions)
                    .join(User, User.id == AuthSession.user_id)
                    .where(
                        AuthSession.id.in_(session_ids),
                        AuthSession.revoked_at.is_(None),
                        AuthSession.expires_at > now,
                        User.is_active.is_(True),
                    )
                )
            ).all()
        live = {session_id for session_id, _, _ in rows}
        held = {
            user_id: frozenset(names.split(",")) if names else frozenset()
            for _, user_id, names in rows
        }
        for subscriber in watched:
            if subscriber.session_id is not None and subscriber.session_id not in live:
                subscriber.end(Subscriber.REVOKED)
        for subscriber in scoped:
            assert subscriber.user_id is not None
            self.hub.rescope(subscriber, held.get(subscriber.user_id, frozenset()))
