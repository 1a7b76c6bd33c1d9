"""Query limits: depth, aliases, cost and directives of a document, measured before
anything executes (tokens are capped by the parser)."""

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType

from gql.core.config import Settings
from gql.core.errors import ErrorCode
from gql.graphql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

CONNECTION_SUFFIX = "Connection"
IDS_ARGUMENT = "ids"  # `nodes(ids:)`: a subtree per id
TOKEN_LIMIT_MARKER = "tokens. Parsing aborted."


# Directives on one node of a document (a field, a fragment, an operation): the handful
# a client needs (@include, @skip, @defer), never ten of the same.
MAX_DIRECTIVES_PER_NODE = 3


@dataclass(frozen=True)
class Limits:
    """The largest document the server executes."""

    depth: int
    aliases: int
    tokens: int
    cost: int
    directives: int

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        """The configured limits."""
        return cls(
            depth=settings.max_query_depth,
            aliases=settings.max_query_aliases,
            tokens=settings.max_query_tokens,
            cost=settings.max_query_cost,
            directives=settings.max_query_directives,
        )


@dataclass(frozen=True)
class Measure:
    """What a selection set costs: fields weighted by page sizes, nesting, aliases."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0

    def __add__(self, other: "Measure") -> "Measure":
        return Measure(
            self.cost + other.cost, max(self.depth, other.depth), self.aliases + other.aliases
        )


def too_complex(message: str) -> GraphQLError:
    """A coded error for a document over a limit."""
    return GraphQLError(message, extensions={"code": str(ErrorCode.QUERY_TOO_COMPLEX)})


class DocumentMeter:
    """Measures the operations of one document against the schema (fragments expanded)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._fragment_measures: dict[str, Measure] = {}
        self._expanding: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Measure:
        """The measure of one operation."""
        root = self.schema.get_root_type(operation.operation)
        return self.selection_set(operation.selection_set, root)

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> Measure:
        """The sum of the selections' costs; the deepest selection's depth."""
        total = Measure()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> Measure:
        """A named fragment's measure, computed once (and nothing for a cycle)."""
        if name in self._fragment_measures:
            return self._fragment_measures[name]
        definition = self.fragments.get(name)
        if definition is None or name in self._expanding:
            return Measure()  # unknown or cyclic: graphql-core's own rules report it
        self._expanding.add(name)
        target = self.schema.get_type(definition.type_condition.name.value)
        measure = self.selection_set(definition.selection_set, target)
        self._expanding.discard(name)
        self._fragment_measures[name] = measure
        return measure

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Measure:
        """1 for the field, plus its subtree times the page size of a connection (or the
        number of ids of `nodes`)."""
        aliases = 1 if node.alias is not None else 0
        if node.name.value.startswith("__"):
            # Introspection is bounded by the token limit (and off in production).
            return Measure(aliases=aliases)
        field_type = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
            field_type = get_named_type(definition.type) if definition else None
        children = (
            self.selection_set(node.selection_set, field_type)
            if node.selection_set is not None
            else Measure()
        )
        is_connection = field_type is not None and field_type.name.endswith(CONNECTION_SUFFIX)
        multiplier = self.page_size(node) if is_connection else self.id_count(node)
        return Measure(
            cost=1 + multiplier * children.cost,
            depth=1 + children.depth,
            aliases=aliases + children.aliases,
        )

    def page_size(self, node: FieldNode) -> int:
        """The page a connection field asks for: `first`, its default, at most the cap."""
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: Any = argument.value
            if isinstance(value, VariableNode):
                value = self.variables.get(value.name.value)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, min(value, MAX_PAGE_SIZE))
        return DEFAULT_PAGE_SIZE

    def id_count(self, node: FieldNode) -> int:
        """How many objects a field given a list of `ids` fetches (1 for other fields)."""
        for argument in node.arguments or ():
            if argument.name.value != IDS_ARGUMENT:
                continue
            value: Any = argument.value
            if isinstance(value, VariableNode):
                value = self.variables.get(value.name.value)
            elif isinstance(value, ListValueNode):
                value = value.values
            if isinstance(value, list | tuple):
                return max(0, min(len(value), MAX_PAGE_SIZE))
        return 1


Measured = list[tuple[OperationDefinitionNode, Measure]]


def measure_operations(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
) -> Measured:
    """Each operation of the document with its measure."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    meter = DocumentMeter(schema, fragments, variables)
    return [
        (definition, meter.operation(definition))
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def over_limits(measured: Measured, limits: Limits) -> list[GraphQLError]:
    """Errors for each measured operation over the depth, alias or cost limit."""
    return [error for _, measure in measured for error in _over_limits(measure, limits)]


def executed(
    measured: Measured, operation_name: str | None
) -> tuple[OperationDefinitionNode, Measure] | None:
    """The operation that runs (the one named, or the only one) with its measure; None when
    the request does not pick exactly one (graphql-core reports that)."""
    if operation_name is None:
        return measured[0] if len(measured) == 1 else None
    for operation, measure in measured:
        if operation.name is not None and operation.name.value == operation_name:
            return operation, measure
    return None


def _over_limits(measure: Measure, limits: Limits) -> Iterator[GraphQLError]:
    if measure.depth > limits.depth:
        yield too_complex(f"The query is {measure.depth} levels deep; at most {limits.depth}.")
    if measure.aliases > limits.aliases:
        yield too_complex(f"The query uses {measure.aliases} aliases; at most {limits.aliases}.")
    if measure.cost > limits.cost:
        yield too_complex(
            f"The query costs {measure.cost} (each field 1, connections times `first`, "
            f"`nodes` times its ids); "
            f"at most {limits.cost}."
        )


# Distinct documents whose directives are counted once (unique texts from a hostile client
# only evict older entries).
DIRECTIVE_COUNTS_KEPT = 512


class _DirectiveCounter(Visitor):
    """How many directives a document holds, and the most on one node."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.most_on_one_node = 0

    def enter(self, node: Node, *_: object) -> None:
        directives = getattr(node, "directives", None)
        if directives:
            self.total += len(directives)
            self.most_on_one_node = max(self.most_on_one_node, len(directives))


# Directive counts by query text (the documents of one text are alike).
_directive_counts: "OrderedDict[str, tuple[int, int]]" = OrderedDict()


def _directives(query: str, document: DocumentNode) -> tuple[int, int]:
    counts = _directive_counts.get(query)
    if counts is None:
        counter = _DirectiveCounter()
        visit(document, counter)
        counts = _directive_counts[query] = (counter.total, counter.most_on_one_node)
        if len(_directive_counts) > DIRECTIVE_COUNTS_KEPT:
            _directive_counts.popitem(last=False)
    return counts


def directive_errors(query: str, document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    """One error for a document that overloads directives (checked before validation,
    which would report each unknown or repeated one)."""
    total, most_on_one_node = _directives(query, document)
    if total > limits.directives:
        return [too_complex(f"The query uses {total} directives; at most {limits.directives}.")]
    if most_on_one_node > MAX_DIRECTIVES_PER_NODE:
        return [
            too_complex(
                f"The query puts {most_on_one_node} directives on one field; "
                f"at most {MAX_DIRECTIVES_PER_NODE}."
            )
        ]
    return []
