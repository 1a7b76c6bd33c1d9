"""Guard: the schema documents itself. Every type, field, argument, enum value, input field
and directive of its own has a description; the test names each one that has none."""

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    is_introspection_type,
    is_specified_directive,
    is_specified_scalar_type,
)

from gql.graphql.permissions import PUBLIC, field_access
from gql.graphql.schema import schema

SMALL_SDL = '''
"""Documented."""
type Query {
  """Documented."""
  documented(
    """Documented."""
    first: Int
    after: String
  ): Thing
  bare: Boolean
}

type Thing {
  """  """
  blank: Choice
}

"""Documented."""
enum Choice {
  """Documented."""
  YES
  NO
}

input Filter {
  """Documented."""
  search: String
  inStock: Boolean
}

scalar Money

directive @cost(weight: Int) on FIELD_DEFINITION
'''


def undocumented(sdl_schema: GraphQLSchema) -> list[str]:
    """The schema coordinates of every element without a description (blank counts as
    none), but for introspection types and the spec's built-in scalars and directives."""
    missing: list[str] = []

    def check(element: object, coordinate: str) -> None:
        if not (getattr(element, "description", None) or "").strip():
            missing.append(coordinate)

    for name, named in sorted(sdl_schema.type_map.items()):
        if is_introspection_type(named) or is_specified_scalar_type(named):
            continue
        check(named, name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                check(field, f"{name}.{field_name}")
                for arg_name, arg in field.args.items():
                    check(arg, f"{name}.{field_name}({arg_name}:)")
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                check(input_field, f"{name}.{field_name}")
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                check(value, f"{name}.{value_name}")
    for directive in sdl_schema.directives:
        if is_specified_directive(directive):
            continue
        check(directive, f"@{directive.name}")
        for arg_name, arg in directive.args.items():
            check(arg, f"@{directive.name}({arg_name}:)")
    return missing


def test_every_element_of_the_schema_is_described() -> None:
    # given
    live = build_schema(schema.as_str())
    # when
    missing = undocumented(live)
    # then
    assert not missing, f"{len(missing)} undocumented schema elements:\n" + "\n".join(missing)


def test_the_walk_names_every_kind_of_undocumented_element() -> None:
    # given: a schema with one undocumented element of each kind, and a blank description
    small = build_schema(SMALL_SDL)
    # when
    missing = undocumented(small)
    # then: named by schema coordinate; introspection and built-ins are not reported
    assert missing == [
        "Choice.NO",
        "Filter",
        "Filter.inStock",
        "Money",
        "Query.documented(after:)",
        "Query.bare",
        "Thing",
        "Thing.blank",
        "@cost",
        "@cost(weight:)",
    ]


def test_each_guarded_field_says_whom_it_needs() -> None:
    # given: the fields a rule guards, and their descriptions
    live = build_schema(schema.as_str())
    unsaid = []
    for access in field_access(schema):
        if access.rule == PUBLIC:
            continue
        named = live.get_type(access.type_name)
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        description = named.fields[access.field_name].description or ""
        # when: the rule is "authenticated", or permissions joined by " or " / " + "
        needed = (
            ["signed-in"]
            if access.rule == "authenticated"
            else [f"`{p}`" for p in access.rule.replace(" + ", " or ").split(" or ")]
        )
        # then
        if not all(word in description for word in needed):
            unsaid.append(f"{access.type_name}.{access.field_name} ({access.rule})")
    assert not unsaid, "descriptions that do not say whom the field needs:\n" + "\n".join(unsaid)
