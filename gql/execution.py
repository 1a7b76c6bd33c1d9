"""graphql-core's executor with a shortcut for the commonest field of all: a plain
attribute of scalar type, which needs neither a resolve info nor a resolver call."""

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# Per schema field: (attribute name, serializer, non-null) or None when not plain.
_plain_fields: dict[int, tuple[str, Any, bool] | None] = {}


def _plain_leaf(field: GraphQLField) -> tuple[str, Any, bool] | None:
    key = id(field)
    if key not in _plain_fields:
        _plain_fields[key] = _inspect(field)
    return _plain_fields[key]


def _inspect(field: GraphQLField) -> tuple[str, Any, bool] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if definition.extensions or not getattr(field.resolve, "_is_default", False):
        return None
    field_type = field.type
    non_null = isinstance(field_type, GraphQLNonNull)
    named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if not isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return None
    return definition.python_name, named.serialize, non_null


class Executor(StrawberryGraphQLCoreExecutionContext):
    """Reads plain scalar attributes directly; every other field, and anything unusual
    about a plain one (null where not allowed, a value that does not serialize), goes
    the standard way, which also reports it."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """The attribute's serialized value, or graphql-core's own execution."""
        node = field_details_list[0].node
        middleware = self.middleware_manager
        if not node.arguments and (middleware is None or not middleware.middlewares):
            field = self.schema.get_field(parent_type, node.name.value)
            plain = _plain_leaf(field) if field is not None else None
            if plain is not None:
                name, serialize, non_null = plain
                try:
                    value = getattr(source, name)
                    if value is None and not non_null:
                        return None
                    if value is not None:
                        serialized = serialize(value)
                        if serialized is not None and serialized is not Undefined:
                            return serialized
                except Exception:  # noqa: S110 - the standard path reports it
                    pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
