"""Documents parsed and validated once per distinct text, and whether a document would
execute at all (valid and within every limit)."""

from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    parse,
    specified_rules,
)
from graphql.validation import NoSchemaIntrospectionCustomRule

from gql.core.config import Settings
from gql.graphql import compat
from gql.graphql.execution.limits import (
    Limits,
    Measured,
    directive_errors,
    measure_operations,
    over_limits,
)

# Validation errors reported for one document: the first ones, and a note that more exist.
MAX_VALIDATION_ERRORS = 10

# Distinct documents remembered by each cache; unique texts from a hostile client only
# evict older entries.
DOCUMENT_CACHE_SIZE = 512


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


def checked_measures(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    settings: Settings,
    variables: Mapping[str, Any],
) -> Measured | None:
    """Each operation's measure when the document would execute (valid, and within every
    limit); None when it would not."""
    limits = Limits.of(settings)
    if directive_errors(query, document, limits):
        return None
    rules = (*specified_rules, *rules_for(settings))
    if validate_cached(schema, query, document, rules):
        return None
    measured = measure_operations(schema, document, variables)
    return None if over_limits(measured, limits) else measured
