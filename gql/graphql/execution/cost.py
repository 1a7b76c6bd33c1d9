"""The cost an operation reports (`extensions.cost`), handed between the schema extension
that measures and charges it and the transports that send the operation's answers.

A query's one answer carries it; a subscription's first message only, which is either an
event executed for this subscriber or a frame shared by its whole group (gql.realtime.fanout),
hence this per-operation note: whichever sends first takes it. The response cache reads it
too, to keep a caller's own figures out of the answers it shares.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson


class CostReport:
    """What one operation reports of its cost, and whether a message carried it yet."""

    __slots__ = ("cost", "sent")

    def __init__(self) -> None:
        self.cost: dict[str, Any] | None = None
        self.sent = False

    def take(self) -> dict[str, Any] | None:
        """`{"cost": ...}` for the operation's first message; None after it, or before the
        cost is known."""
        if self.sent or self.cost is None:
            return None
        self.sent = True
        return {"cost": self.cost}

    def onto_payload(self, payload: str) -> str:
        """A serialized `next` payload (a JSON object), with the extensions when it is the
        operation's first message."""
        extensions = self.take()
        if extensions is None:
            return payload
        return f'{payload[:-1]},"extensions":{orjson.dumps(extensions).decode()}}}'


_current: ContextVar[CostReport | None] = ContextVar("gql_cost_report", default=None)


def new_cost_report() -> CostReport:
    """A fresh note for the operation that runs in this task (and the tasks it starts)."""
    report = CostReport()
    _current.set(report)
    return report


@contextmanager
def reporting() -> Iterator[CostReport]:
    """A note for the operation that runs inside the block (one request)."""
    report = CostReport()
    token = _current.set(report)
    try:
        yield report
    finally:
        _current.reset(token)


def current_cost_report() -> CostReport | None:
    """The note a transport set up for the running operation, if any."""
    return _current.get()


def extensions_suffix(cost: dict[str, Any]) -> bytes:
    """How a JSON answer ends when its extensions are just `cost` (they come last)."""
    return b',"extensions":' + orjson.dumps({"cost": cost}) + b"}"
