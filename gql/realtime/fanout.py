"""Subscription fan-out: an operation's direct line to its WebSocket, and a subscription
document prepared once to render each event for every subscriber who sent it.

A WebSocket protocol handler puts a `LiveTarget` in the context of each operation's task.
A subscription resolver that finds one can send frames rendered elsewhere straight to the
socket instead of yielding events for graphql-core to execute one subscriber at a time.
Where the handler allows it, the resolver even hands its live phase over (`Handoff`) and
returns, so that the operation's whole execution stack (document, executor, extensions,
generators) is freed and a live subscriber costs only its queue and one small task.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import orjson
import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    Node,
    VariableNode,
    execute_subscription_event,
)
from graphql.execution import Executor

from gql.core.errors import ErrorCode
from gql.graphql import compat
from gql.graphql.execution.cost import CostReport
from gql.graphql.extensions import INTERNAL_MESSAGE, CodedErrors
from gql.realtime.subscribers import Frame

logger = logging.getLogger("gql.fanout")

Send = Callable[[str], Awaitable[None]]
_CODED = CodedErrors()


class Handoff(Protocol):
    """The live phase of a subscription, run by the protocol handler after the resolver
    returned."""

    async def follow(self, target: "LiveTarget") -> dict[str, Any] | None:
        """Send frames until the subscription ends; the payload of its last `next` message
        (an error), if any."""

    def release(self) -> None:
        """Let go of the subscription (called once, however the operation ends)."""


@dataclass(slots=True)
class LiveTarget:
    """Where one WebSocket operation's `next` frames go, and what the client sent."""

    prefix: str  # the frame up to its payload: '{"id":"1","type":"next","payload":'
    send: Send
    query: str
    operation_name: str | None
    variables: Mapping[str, Any] | None
    # Whether the handler runs a Handoff that the resolver leaves in `handoff`.
    can_hand_off: bool = False
    handoff: Handoff | None = None
    # The operation's `extensions.cost`, for its first message (however it is sent).
    cost: CostReport = field(default_factory=CostReport)

    def frame(self, item: Frame) -> str:
        """A frame of the group's for this socket; the operation's first message also
        carries its cost (so that one alone is not shared)."""
        if self.cost.sent:
            return item.text(self.prefix)
        return f"{self.prefix}{self.cost.onto_payload(item.payload)}}}"

    def first_extensions(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A payload built here (the ending error), with the cost when it comes first."""
        extensions = self.cost.take()
        return payload if extensions is None else {**payload, "extensions": extensions}


LIVE_TARGET: ContextVar[LiveTarget | None] = ContextVar("gql_live_target", default=None)


@lru_cache(maxsize=1024)
def frame_prefix(message_type: str, operation_id: str) -> str:
    """The start of a frame whose payload follows (the frame ends with `}`); one instance
    for the many subscriptions that use the same operation id."""
    return f'{{"id":{orjson.dumps(operation_id).decode()},"type":"{message_type}","payload":'


def error_locations(info: strawberry.Info[Any, Any]) -> list[dict[str, int]] | None:
    """Where the resolved field is in the document, as an error of it reports it."""
    located = GraphQLError("", nodes=compat.raw_info(info).field_nodes).formatted
    locations: list[dict[str, int]] | None = located.get("locations")  # type: ignore[assignment]
    return locations


def operation_document(info: strawberry.Info[Any, Any]) -> DocumentNode:
    """The executing operation with its fragments, as one document."""
    raw = compat.raw_info(info)
    return DocumentNode(definitions=(raw.operation, *raw.fragments.values()))


def rendering_variables(
    info: strawberry.Info[Any, Any], variables: Mapping[str, Any] | None
) -> bytes:
    """The variables that can change what an event renders to, canonically serialized:
    those used anywhere but in the root field's arguments (which only choose events)."""
    raw = compat.raw_info(info)
    root_fields = {id(node) for node in raw.field_nodes}
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, VariableNode):
            used.add(node.name.value)
        elif isinstance(node, Node):
            for key in node.keys:
                if key == "variable_definitions" or (
                    key == "arguments" and id(node) in root_fields
                ):
                    continue
                walk(getattr(node, key, None))
        elif isinstance(node, tuple | list):
            for child in node:
                walk(child)

    walk(raw.operation)
    for fragment in raw.fragments.values():
        walk(fragment)
    chosen = {name: value for name, value in (variables or {}).items() if name in used}
    return orjson.dumps(chosen, option=orjson.OPT_SORT_KEYS)


class SharedExecution:
    """A subscription operation validated once, executed once per event for many
    subscribers: the payload comes out serialized, ready for every socket."""

    def __init__(
        self, schema: strawberry.Schema, executor: Executor[Any], make_context: Callable[[], Any]
    ) -> None:
        self.schema = schema
        self.executor = executor
        self.make_context = make_context

    @classmethod
    def prepare(
        cls,
        info: strawberry.Info[Any, Any],
        variables: Mapping[str, Any] | None,
        make_context: Callable[[], Any],
    ) -> "SharedExecution | None":
        """The operation of `info`, ready to execute events; None if it cannot be shared."""
        raw = compat.raw_info(info)
        executor_class = info.schema.execution_context_class or Executor
        executor = executor_class.build(
            raw.schema,
            operation_document(info),
            raw_variable_values=dict(variables or {}),
            operation_name=raw.operation.name.value if raw.operation.name else None,
        )
        if not isinstance(executor, Executor):
            return None  # variables that do not coerce: the operation would have failed
        return cls(info.schema, executor, make_context)

    def with_context(self, make_context: Callable[[], Any]) -> "SharedExecution":
        """The same operation executed with other contexts (other permissions)."""
        return type(self)(self.schema, self.executor, make_context)

    async def render(self, root: object) -> str:
        """The `next` payload for one event, serialized; errors coded and masked as for
        any operation. Each call gets a fresh context: every event reads fresh data."""
        context = self.make_context()
        try:
            executor = self.executor.build_per_event_executor(root)
            executor.context_value = context
            result: Any = execute_subscription_event(executor)
            if executor.is_awaitable(result):
                result = await result
            payload = self._payload(result)
        except Exception:
            logger.exception("rendering a subscription event failed")
            payload = {
                "data": None,
                "errors": [
                    {
                        "message": INTERNAL_MESSAGE,
                        "extensions": {"code": str(ErrorCode.INTERNAL_SERVER_ERROR)},
                    }
                ],
            }
        finally:
            await context.close()
        return orjson.dumps(payload).decode()

    def _payload(self, result: ExecutionResult) -> dict[str, Any]:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            errors: list[GraphQLError] = list(result.errors)
            self.schema.process_errors(errors)
            payload["errors"] = [error.formatted for error in _CODED.process(errors)]
        return payload
