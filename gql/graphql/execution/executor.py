"""graphql-core's executor with shortcuts for the commonest fields: attributes read
straight off their source (scalars, guarded or not, and objects such as an edge's node),
which need neither a resolve info nor a resolver call. Each selection set is planned once
per request; anything unusual goes graphql-core's standard way, which also reports it."""

from collections.abc import Awaitable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    Undefined,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.types.field import StrawberryField

from gql.graphql import compat
from gql.graphql.permissions import Guard

_STANDARD = object()  # a shortcut declines: graphql-core executes the field (and reports)


class Attribute:
    """A field that only reads an attribute of its source, behind zero or more guards."""

    __slots__ = ("guards", "name", "non_null")

    def __init__(self, name: str, non_null: bool, guards: tuple[Guard, ...]) -> None:
        self.name = name
        self.non_null = non_null
        self.guards = guards


class Leaf(Attribute):
    """An attribute of scalar or enum type."""

    __slots__ = ("serialize",)

    def __init__(
        self, name: str, non_null: bool, guards: tuple[Guard, ...], serialize: Any
    ) -> None:
        super().__init__(name, non_null, guards)
        self.serialize = serialize

    def read(self, source: Any) -> Any:
        """The serialized value, or _STANDARD for anything unusual (null where not allowed,
        a value that does not serialize)."""
        try:
            value = getattr(source, self.name)
            if value is None:
                return _STANDARD if self.non_null else None
            serialized = self.serialize(value)
        except Exception:
            return _STANDARD
        if serialized is None or serialized is Undefined:
            return _STANDARD
        return serialized


class Child(Attribute):
    """An attribute holding one object (an edge's node, say)."""

    __slots__ = ("object_type", "return_type")

    def __init__(
        self,
        name: str,
        non_null: bool,
        guards: tuple[Guard, ...],
        return_type: GraphQLOutputType,
        object_type: GraphQLObjectType,
    ) -> None:
        super().__init__(name, non_null, guards)
        self.return_type = return_type
        self.object_type = object_type


class Children(Attribute):
    """An attribute holding a list of non-null objects (a connection's edges, say)."""

    __slots__ = ("object_type", "return_type")

    def __init__(
        self,
        name: str,
        non_null: bool,
        return_type: GraphQLOutputType,
        object_type: GraphQLObjectType,
    ) -> None:
        super().__init__(name, non_null, ())
        self.return_type = return_type
        self.object_type = object_type


# A StrawberryField metadata key: the source attribute that, when not None, already holds
# the field's value (GraphQL objects), so its resolver need not run.
PRELOADED = "gql.preloaded"

# Per schema field (they live as long as the schema): its Attribute, or None.
_attributes: dict[int, Attribute | None] = {}


def attribute(field: GraphQLField) -> Attribute | None:
    """The field as an Attribute, when it is one."""
    key = id(field)
    if key not in _attributes:
        _attributes[key] = _inspect(field)
    return _attributes[key]


def _inspect(field: GraphQLField) -> Attribute | None:
    definition = (field.extensions or {}).get(compat.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    name = definition.python_name
    if definition.base_resolver is not None or not getattr(field.resolve, "_is_default", False):
        # A resolver's value may have been read already (PRELOADED); else it must run.
        preloaded = dict(definition.metadata or {}).get(PRELOADED)
        if not isinstance(preloaded, str) or definition.extensions or definition.arguments:
            return None
        name = preloaded
    guards = tuple(e for e in definition.extensions if isinstance(e, Guard))
    if len(guards) != len(definition.extensions):
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return Leaf(name, non_null, guards, named.coerce_output_value)
    if guards:
        return None
    if isinstance(named, GraphQLObjectType) and compat.checks_without_info(named):
        return Child(name, non_null, (), field.type, named)
    # Only non-null items: a failed item fails the whole list, as one step can tell.
    item = named.of_type if isinstance(named, GraphQLList) else None
    if isinstance(item, GraphQLNonNull) and (item_type := _object_of(item)) is not None:
        return Children(name, non_null, field.type, item_type)
    return None


def _object_of(return_type: GraphQLOutputType) -> GraphQLObjectType | None:
    """The object type a value of `return_type` completes as directly, if any."""
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(named, GraphQLObjectType) and compat.checks_without_info(named):
        return named
    return None


def _is_a(object_type: GraphQLObjectType, value: Any) -> bool:
    """Whether `value` may complete as `object_type` (graphql-core's is_type_of check;
    a value it refuses goes the standard way, which reports it)."""
    check = object_type.is_type_of
    return check is None or bool(check(value, None))  # type: ignore[arg-type]


# One planned field: response name, its field group, and its Attribute (None: standard).
Step = tuple[str, Any, Attribute | None]


class Executor(compat.ExecutionContextBase):
    """Reads attributes directly; every other field, and any guard that cannot decide at
    once or refuses, goes the standard way."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's execute_fields, with attributes read inline."""
        plan = None if position_context is not None else self._plan(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        pending: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        type_name = parent_type.name
        try:
            for response_name, field_details_list, step in plan:
                if type(step) is Leaf:
                    result = step.read(source_value)
                    if result is not _STANDARD:
                        results[response_name] = result
                        continue
                field_path = Path(path, response_name, type_name)
                result = _STANDARD
                if type(step) is Child:
                    result = self._complete_child(
                        step, source_value, field_details_list, field_path
                    )
                elif type(step) is Children:
                    result = self._complete_children(
                        step, source_value, field_details_list, field_path
                    )
                if result is _STANDARD:
                    result = compat.execute_field(
                        self, parent_type, source_value, field_details_list, field_path
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        pending[response_name] = result
        except Exception:
            if pending:
                compat.settle_in_background(self, pending.values())
            raise
        if not pending:
            return results
        return self._gather(results, pending)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """An object's fields executed at once (graphql-core takes four calls to get there)."""
        object_type = _object_of(return_type)
        if (
            object_type is not None
            and position_context is None
            and result is not None
            and result is not Undefined
            and not isinstance(result, Exception)
        ):
            completed = self._object_fields(object_type, result, field_details_list, path)
            if completed is not _STANDARD:
                return completed
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_child(
        self, step: "Child", source: Any, field_details_list: Any, path: Path
    ) -> Any:
        """The child object's fields, or _STANDARD when it is missing or unusual."""
        try:
            value = getattr(source, step.name)
        except Exception:
            return _STANDARD
        if value is None or value is Undefined or isinstance(value, Exception):
            return _STANDARD
        try:
            completed = self._object_fields(step.object_type, value, field_details_list, path)
        except Exception as raw_error:
            compat.handle_field_error(self, raw_error, step.return_type, field_details_list, path)
            return None
        if completed is _STANDARD:
            return _STANDARD
        if self.is_awaitable(completed):
            return self._await_child(completed, step, field_details_list, path)
        return completed

    def _complete_children(
        self, step: Children, source: Any, field_details_list: Any, path: Path
    ) -> Any:
        """Each listed object's fields, or _STANDARD when the list or an item is unusual
        (missing, not a list, a null item): graphql-core completes, and reports, those.
        A failing item fails the list field, as graphql-core does for non-null items."""
        try:
            items = getattr(source, step.name)
        except Exception:
            return _STANDARD
        # Decided before any item runs: nothing started may be left behind.
        object_type = step.object_type
        if type(items) is not list or any(
            item is None or isinstance(item, Exception) or not _is_a(object_type, item)
            for item in items
        ):
            return _STANDARD
        completed: list[Any] = []
        pending: list[int] = []
        try:
            for index, item in enumerate(items):
                value = self._object_fields(
                    object_type, item, field_details_list, path.add_key(index), checked=True
                )
                if value is _STANDARD:  # the first item's selection defers: nothing started
                    return _STANDARD
                if self.is_awaitable(value):
                    pending.append(index)
                completed.append(value)
        except Exception as raw_error:
            if pending:
                compat.settle_in_background(self, (completed[index] for index in pending))
            compat.handle_field_error(self, raw_error, step.return_type, field_details_list, path)
            return None
        if not pending:
            return completed
        return self._await_children(completed, pending, step, field_details_list, path)

    async def _await_children(
        self,
        completed: list[Any],
        pending: list[int],
        step: Children,
        field_details_list: Any,
        path: Path,
    ) -> Any:
        """The listed objects once their awaited fields are in; an error nulls the field."""
        try:
            values = await gather_with_cancel(*(completed[index] for index in pending))
        except Exception as raw_error:
            compat.handle_field_error(self, raw_error, step.return_type, field_details_list, path)
            return None
        for index, value in zip(pending, values, strict=True):
            completed[index] = value
        return completed

    def _object_fields(
        self,
        object_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        *,
        checked: bool = False,
    ) -> Any:
        """The object's selected fields executed at once, or _STANDARD when the selection
        defers some (graphql-core's incremental delivery handles those) or the source is not
        one of the type (graphql-core reports that; `checked`: the caller made sure)."""
        if not checked and not _is_a(object_type, source):
            return _STANDARD
        grouped_field_set, new_defer_usages = compat.subfields(
            self, object_type, field_details_list
        )
        if new_defer_usages:
            return _STANDARD
        return self.execute_fields(object_type, source, path, grouped_field_set, None)

    async def _await_child(
        self, completed: Awaitable[Any], step: Child, field_details_list: Any, path: Path
    ) -> Any:
        """The child's fields once awaited; an error nulls the field as graphql-core does."""
        try:
            return await completed
        except Exception as raw_error:
            compat.handle_field_error(self, raw_error, step.return_type, field_details_list, path)
            return None

    async def _gather(self, results: dict[str, Any], pending: dict[str, Any]) -> dict[str, Any]:
        """Await the fields that returned awaitables, together (loaders batch across them)."""
        if len(pending) == 1:
            ((response_name, awaitable),) = pending.items()
            results[response_name] = await awaitable
        else:
            results.update(zip(pending, await gather_with_cancel(*pending.values()), strict=True))
        return results

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[Step] | None:
        """The steps for one selection set on one type (None: no shortcut applies)."""
        plans: dict[int, tuple[Any, list[Step] | None]] = self.__dict__.setdefault("_plans", {})
        key = id(grouped_field_set)
        cached = plans.get(key)
        if cached is not None:
            return cached[1]
        plan: list[Step] | None = None
        if not compat.has_field_middleware(self):
            plan = [
                (name, details, self._attribute(parent_type, details))
                for name, details in grouped_field_set.items()
            ]
            if all(step is None for _, _, step in plan):
                plan = None
        # Kept with its key's object so that the id cannot be reused during execution.
        plans[key] = (grouped_field_set, plan)
        return plan

    def _attribute(self, parent_type: GraphQLObjectType, details: Any) -> Attribute | None:
        """The field's Attribute when it can be read inline for this caller."""
        node = details[0].node
        if node.arguments:
            return None
        field = self.schema.get_field(parent_type, node.name.value)
        step = attribute(field) if field is not None else None
        if step is None or not step.guards:
            return step
        return step if self._guards_allow(step.guards) else None

    def _guards_allow(self, guards: tuple[Guard, ...]) -> bool:
        """Whether the known caller passes every guard (unknown caller or a refusal:
        the standard path decides, and reports)."""
        known_access = getattr(self.context_value, "known_access", None)
        known = known_access() if known_access is not None else None
        if known is None:
            return False
        try:
            return all(guard.refusing_rule(*known) is None for guard in guards)
        except Exception:
            return False
