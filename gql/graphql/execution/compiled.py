"""What compiled reads share: a selection collected as graphql-core collects it (aliases,
fragments, @include and @skip), and object builders generated once per selection (as
graphql-jit does), so that an answer is made from rows without building GraphQL objects or
completing fields one by one. gql.catalog.compiled compiles the catalog's reads with them."""

from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from strawberry.types.field import StrawberryField

from gql.graphql import compat
from gql.graphql.permissions import Guard

INCLUSION = frozenset({GraphQLIncludeDirective.name, GraphQLSkipDirective.name})


class Unsupported(Exception):
    """The compiled path does not take this read: the general executor runs it (and reports
    whatever is wrong with it)."""


class Selection:
    """An operation's selections as graphql-core's executor sees them: fields grouped by
    response name, in order, for the variables of one request."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        # Every guard a selected field runs: the caller must pass them all.
        self.guards: list[Guard] = []
        # Whether a variable decided anything beyond the root fields' arguments (which are
        # read per request): then what was compiled holds for these variables only.
        self.variable_dependent = False

    def fields(
        self, object_type: GraphQLObjectType, selection_sets: list[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """The fields selected on `object_type`, by response name (fields of one name merge,
        as the specification's CollectFields merges them)."""
        grouped: dict[str, list[FieldNode]] = {}
        spread: set[str] = set()  # a fragment counts once, as in graphql-core
        for selection_set in selection_sets:
            self._collect(object_type, selection_set, grouped, spread)
        return grouped

    def subselections(self, nodes: list[FieldNode]) -> list[SelectionSetNode]:
        """The selection sets of a field's merged nodes."""
        return [node.selection_set for node in nodes if node.selection_set is not None]

    def arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's coerced arguments (defaults applied), fixed in what is compiled."""
        if _has_variables(node.arguments):
            self.variable_dependent = True
        return get_argument_values(field, node, self.variables)

    def guards_of(self, field: GraphQLField) -> None:
        """Note the field's guards; a field with any other extension is not compiled."""
        definition = (field.extensions or {}).get(compat.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryField):
            raise Unsupported(f"no Strawberry field behind {field}")
        for extension in definition.extensions:
            if not isinstance(extension, Guard):
                raise Unsupported(f"field extension {extension!r}")
            self.guards.append(extension)

    def _collect(
        self,
        object_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        spread: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                name = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(name, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, object_type):
                    self._collect(object_type, selection.selection_set, grouped, spread)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or selection.arguments or fragment.variable_definitions:
                    raise Unsupported(f"fragment {name}")
                if name in spread:
                    continue
                spread.add(name)
                if self._applies(fragment.type_condition.name.value, object_type):
                    self._collect(object_type, fragment.selection_set, grouped, spread)

    def _included(self, node: SelectionNode) -> bool:
        """@skip and @include decide; any other directive is not compiled."""
        if not node.directives:
            return True
        if any(directive.name.value not in INCLUSION for directive in node.directives):
            raise Unsupported("a directive other than @include and @skip")
        if any(_has_variables(directive.arguments) for directive in node.directives):
            self.variable_dependent = True
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include.get("if") is False)

    def _applies(self, type_name: str, object_type: GraphQLObjectType) -> bool:
        if type_name == object_type.name:
            return True
        condition = self.schema.get_type(type_name)
        return isinstance(condition, GraphQLInterfaceType) and self.schema.is_sub_type(
            condition, object_type
        )


def _has_variables(arguments: Any) -> bool:
    return any(_refers_to_variables(argument.value) for argument in arguments or ())


def _refers_to_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_refers_to_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_refers_to_variables(field.value) for field in value.fields)
    return False


def builder(
    fields: list[tuple[str, str]], namespace: dict[str, Any], parameters: str
) -> Callable[..., dict[str, Any]]:
    """A function of `parameters` returning the dict of `fields` (response name, Python
    expression over the parameters and `namespace`), in order: one dict display per object
    instead of a completion per field."""
    members = ", ".join(f"{name!r}: {expression}" for name, expression in fields)
    function: Callable[..., dict[str, Any]] = eval(  # noqa: S307 (names and expressions are ours)
        f"lambda {parameters}: {{{members}}}", dict(namespace)
    )
    return function
