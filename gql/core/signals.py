"""Signals raised by a transaction for the Database's listeners once it commits (never on
rollback): how a process learns that its own writes changed the ledger."""

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gql.core.db import DATABASE_KEY, PENDING_SIGNALS_KEY


def signal_after_commit(session: AsyncSession, signal: str) -> None:
    """Raise `signal` for the Database's listeners once this transaction commits (never on
    rollback)."""
    session.sync_session.info.setdefault(PENDING_SIGNALS_KEY, set()).add(signal)


@event.listens_for(Session, "after_commit")
def _raise_pending_signals(session: Session) -> None:
    signals = session.info.pop(PENDING_SIGNALS_KEY, None)
    database = session.info.get(DATABASE_KEY)
    if not signals or database is None:
        return
    for signal in signals:
        for listener in list(database.commit_listeners.get(signal, ())):
            listener()


@event.listens_for(Session, "after_rollback")
def _drop_pending_signals(session: Session) -> None:
    session.info.pop(PENDING_SIGNALS_KEY, None)
