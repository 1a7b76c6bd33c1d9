"""Query limits: depth, aliases, tokens and cost, checked before anything executes."""

import contextlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    parse,
    specified_rules,
    visit,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from gql.core.config import Settings
from gql.core.errors import ErrorCode
from gql.graphql import compat
from gql.graphql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

CONNECTION_SUFFIX = "Connection"
TOKEN_LIMIT_MARKER = "tokens. Parsing aborted."
DEFAULTS = Settings.model_construct()


# Directives on one node of a document (a field, a fragment, an operation): the handful
# a client needs (@include, @skip, @defer), never ten of the same.
MAX_DIRECTIVES_PER_NODE = 3
# Validation errors reported for one document: the first ones, and a note that more exist.
MAX_VALIDATION_ERRORS = 10


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
        """1 for the field, plus its subtree times the page size of a connection."""
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
        multiplier = self.page_size(node) if is_connection else 1
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


def limit_errors(
    schema: GraphQLSchema, document: DocumentNode, limits: Limits, variables: Mapping[str, Any]
) -> list[GraphQLError]:
    """Errors for each operation of the document over the depth, alias or cost limit."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    meter = DocumentMeter(schema, fragments, variables)
    return [
        error
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        for error in _over_limits(meter.operation(definition), limits)
    ]


def _over_limits(measure: Measure, limits: Limits) -> Iterator[GraphQLError]:
    if measure.depth > limits.depth:
        yield too_complex(f"The query is {measure.depth} levels deep; at most {limits.depth}.")
    if measure.aliases > limits.aliases:
        yield too_complex(f"The query uses {measure.aliases} aliases; at most {limits.aliases}.")
    if measure.cost > limits.cost:
        yield too_complex(
            f"The query costs {measure.cost} (each field 1, connections times `first`); "
            f"at most {limits.cost}."
        )


# Distinct documents remembered by each cache; unique texts from a hostile client only
# evict older entries.
DOCUMENT_CACHE_SIZE = 512


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
        if len(_directive_counts) > DOCUMENT_CACHE_SIZE:
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


def _capped(errors: list[GraphQLError]) -> list[GraphQLError]:
    if len(errors) <= MAX_VALIDATION_ERRORS:
        return errors
    shown = errors[: MAX_VALIDATION_ERRORS - 1]
    hidden = len(errors) - len(shown)
    return [*shown, GraphQLError(f"{hidden} more validation errors are not shown.")]


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def parse_document(query: str, max_tokens: int) -> DocumentNode:
    """The document of a query text, parsed once per distinct text."""
    # graphql-core never changes a document while executing it, so requests share it.
    return parse(query, max_tokens=max_tokens)


# (schema, query text, rules) of documents that passed the specification's validation.
_valid_documents: "OrderedDict[tuple[int, str, tuple[type[ASTValidationRule], ...]], None]" = (
    OrderedDict()
)


def validate_cached(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
) -> list[GraphQLError]:
    """The specification's validation, skipped for a document that passed it before."""
    key = (id(schema), query, rules)
    if key in _valid_documents:
        _valid_documents.move_to_end(key)
        return []
    # Invalid documents are validated every time: their errors are request-specific
    # objects that later steps edit (codes, production messages).
    errors = _capped(compat.validate_document(schema, document, rules))
    if not errors:
        _valid_documents[key] = None
        if len(_valid_documents) > DOCUMENT_CACHE_SIZE:
            _valid_documents.popitem(last=False)
    return errors


def rules_for(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules beyond the specification's that the settings ask for."""
    return (NoSchemaIntrospectionCustomRule,) if settings.is_production else ()


def passes_checks(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    settings: Settings,
    variables: Mapping[str, Any],
) -> bool:
    """Whether a document would execute: valid, and within every limit."""
    limits = Limits.of(settings)
    if directive_errors(query, document, limits):
        return False
    rules = (*specified_rules, *rules_for(settings))
    if validate_cached(schema, query, document, rules):
        return False
    return not limit_errors(schema, document, limits, variables)


class QueryLimits(SchemaExtension):
    """Applies the configured limits (and, in production, no introspection) to every
    operation, subscriptions included, before it executes; parses and validates each
    distinct document once."""

    def on_operation(self) -> Iterator[None]:
        """Cap the parser's tokens; choose the validation rules."""
        execution = self.execution_context
        # A context without settings (a bare schema.execute) gets the defaults.
        settings: Settings = getattr(execution.context, "settings", None) or DEFAULTS
        self.limits = Limits.of(settings)
        execution.parse_options["max_tokens"] = self.limits.tokens
        execution.validation_rules = (*execution.validation_rules, *rules_for(settings))
        yield

    def on_parse(self) -> Iterator[None]:
        """A document seen before is not parsed again."""
        execution = self.execution_context
        if execution.query and execution.graphql_document is None:
            # A syntax error is left to Strawberry's own parse, which reports it.
            with contextlib.suppress(GraphQLError):
                execution.graphql_document = parse_document(execution.query, self.limits.tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        """Directives first (one error for an overloaded document), then the
        specification's rules (cached per document, at most MAX_VALIDATION_ERRORS errors),
        then the limits (per request: a page size may come from a variable)."""
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.query and execution.pre_execution_errors is None:
            schema = compat.core_schema(execution.schema)
            errors = directive_errors(execution.query, document, self.limits)
            if not errors:
                errors = validate_cached(
                    schema, execution.query, document, execution.validation_rules
                )
                errors += limit_errors(schema, document, self.limits, execution.variables or {})
            execution.pre_execution_errors = errors
        yield
