"""Catalog reads compiled: `products` and `product` answered straight from their rows.

A query whose root fields are `products`, `product` and `__typename`, selecting only the
fields below (aliases, fragments, variables, @include and @skip allowed), is compiled once
per document and operation (per set of variables when they decide more than the root
fields' arguments) into one builder per object (gql.graphql.execution.compiled) and runs the
statements the general executor would (a page, its images when asked for, its count when
asked for), without building GraphQL objects. Anything else, and any read whose arguments
or caller the general executor would answer with an error (bad input, a refused guard),
raises Unsupported: the general executor runs it. tests/catalog/test_compiled_reads.py
holds both to the same bytes."""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

from gql.auth.sessions import Viewer
from gql.cache.dependencies import note_availability, note_product
from gql.catalog.listing import (
    PRODUCT_BY_ID,
    ImageRow,
    ProductFilter,
    ProductRow,
    group_images,
    images_statement,
    product_page_query,
)
from gql.core.driver import Reader
from gql.core.errors import RequestError
from gql.graphql.execution.compiled import Selection, Unsupported, builder
from gql.graphql.ids import parse_id, to_global_id
from gql.graphql.pagination import Page
from gql.graphql.permissions import Guard
from gql.media.renditions import rendition_url

# Each compiled field as a Python expression over the builder's parameters (and names the
# builder is given; `{builder}`: the builder of the field's own selection). Each type's
# table names every field the compiled path answers; a field missing here (a new one)
# sends its reads to the general executor.
PRODUCT = {
    "__typename": "'Product'",
    "id": "product_id(row.id)",
    "sku": "row.sku",
    "name": "row.name",
    "description": "row.description",
    "price": "decimal(row.price)",
    "stock": "row.stock",
    "inStock": "row.stock > 0",
    "createdAt": "moment(row.created_at)",
    "updatedAt": "moment(row.updated_at)",
    "images": "[{builder}(i) for i in images]",
}
IMAGE = {
    "__typename": "'ProductImage'",
    "id": "image_id(row.id)",
    "url": "row.url",
    "altText": "row.alt_text",
    "position": "row.position",
    "width": "row.width",
    "height": "row.height",
    # resizedUrl(size:) is added per argument value: resized(row, <its size>)
}
EDGE = {
    "__typename": "'ProductEdge'",
    "cursor": "page.cursor(item)",
    "node": "{builder}(item, images.get(item.id))",
}
PAGE_INFO = {
    "__typename": "'PageInfo'",
    "hasNextPage": "page.has_next_page",
    "hasPreviousPage": "page.has_previous_page",
    "startCursor": "page.cursor(page.items[0]) if page.items else None",
    "endCursor": "page.cursor(page.items[-1]) if page.items else None",
}
CONNECTION = {
    "__typename": "'ProductConnection'",
    "edges": "[{builder}(item, page, images) for item in page.items]",
    "pageInfo": "{builder}(page)",
    "totalCount": "total",
}


def _resized(row: ImageRow, size: Any) -> str:
    """As ProductImage.resized_url."""
    return row.url if row.media_key is None else rendition_url(row.media_key, size)


@dataclass
class _Root:
    """A root field: its definition and node, whose arguments each request reads."""

    definition: GraphQLField
    node: FieldNode

    def arguments(self, variables: VariableValues) -> dict[str, Any]:
        """The field's arguments with this request's variables."""
        try:
            return get_argument_values(self.definition, self.node, variables)
        except GraphQLError as error:
            raise Unsupported("arguments the general executor reports") from error


@dataclass
class _Products(_Root):
    """A `products` root field and its connection's builder."""

    build: Callable[..., dict[str, Any]]
    images: bool
    total: bool

    async def run(self, read: Reader, dialect: str, variables: VariableValues) -> dict[str, Any]:
        arguments = self.arguments(variables)
        given = arguments.get("filter") or {}
        product_filter = ProductFilter(
            search=given.get("search"),
            min_price=given.get("minPrice"),
            max_price=given.get("maxPrice"),
            in_stock=given.get("inStock"),
        )
        try:
            query = product_page_query(
                first=arguments.get("first"),
                after=arguments.get("after"),
                product_filter=product_filter,
                order=arguments["orderBy"],
                dialect=dialect,
            )
        except RequestError as refused:
            raise Unsupported("the general executor reports bad input") from refused
        if product_filter.in_stock is not None:
            note_availability()
        page: Page[ProductRow] = query.page(
            [ProductRow._make(row) for row in await read(query.statement, query.params)]
        )
        for item in page.items:
            note_product(item.id, item.version)
        images = await _images(read, dialect, [item.id for item in page.items], self.images)
        total = 0
        if self.total:
            counted = await read(page.count_statement, page.params)
            total = counted[0][0] or 0
        return self.build(page, images, total)


@dataclass
class _Product(_Root):
    """A `product(id:)` root field and the product's builder."""

    build: Callable[..., dict[str, Any]]
    images: bool

    async def run(
        self, read: Reader, dialect: str, variables: VariableValues
    ) -> dict[str, Any] | None:
        product_id = parse_id(self.arguments(variables)["id"], "Product")
        if product_id is None:
            return None
        rows = await read(PRODUCT_BY_ID, {"id": product_id})
        if not rows:
            return None
        row = ProductRow._make(rows[0])
        note_product(row.id, row.version)
        images = await _images(read, dialect, [row.id], self.images)
        return self.build(row, images.get(row.id))


async def _images(
    read: Reader, dialect: str, product_ids: list[int], wanted: bool
) -> dict[int, list[ImageRow]]:
    if not wanted or not product_ids:
        return {}
    statement, params = images_statement(dialect, product_ids)
    return group_images(product_ids, await read(statement, params))


@dataclass(frozen=True)
class _Template:
    """A read compiled: its root fields, and the guards its caller must pass."""

    roots: list[tuple[str, _Products | _Product | None]]
    query_type: str
    guards: list[Guard]
    document: DocumentNode  # kept alive with its compiled form, so its id is not reused


@dataclass(frozen=True)
class CompiledRead:
    """A catalog read ready to run with one request's variables."""

    template: _Template
    variables: VariableValues

    def allows(self, viewer: Viewer | None) -> bool:
        """Whether the caller passes every guard of the selection (a refusal is the general
        executor's to report)."""
        granted = viewer.permissions if viewer is not None else frozenset()
        try:
            guards = self.template.guards
            return all(guard.refusing_rule(viewer, granted) is None for guard in guards)
        except Exception:  # a rule that raises its own coded error refuses too
            return False

    async def run(self, read: Reader, dialect: str) -> dict[str, Any]:
        """The answer's `data`, read with `read` (root fields one after another, as the
        request's one session runs them)."""
        data: dict[str, Any] = {}
        for name, root in self.template.roots:
            if root is None:
                data[name] = self.template.query_type
            else:
                data[name] = await root.run(read, dialect, self.variables)
        return data


def compile_read(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> CompiledRead:
    """The read compiled for these variables; Unsupported when the general executor must
    run it."""
    if operation.operation != OperationType.QUERY or schema.query_type is None:
        raise Unsupported("not a query")
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        raise Unsupported("variables the general executor reports")
    key = (id(schema), id(document), id(operation))
    template = _templates.get(key)
    if template is not None:
        _templates.move_to_end(key)
        return CompiledRead(template, coerced)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    compiler = _Compiler(Selection(schema, fragments, coerced))
    try:
        roots = compiler.roots(schema.query_type, operation.selection_set)
    except GraphQLError as error:
        raise Unsupported("arguments the general executor reports") from error
    template = _Template(roots, schema.query_type.name, compiler.selection.guards, document)
    if not compiler.selection.variable_dependent:
        _templates[key] = template
        if len(_templates) > TEMPLATES:
            _templates.popitem(last=False)
    return CompiledRead(template, coerced)


# Reads compiled once per document and operation (those whose variables decide nothing but
# root arguments), the most recently used kept.
TEMPLATES = 256
_templates: "OrderedDict[tuple[int, int, int], _Template]" = OrderedDict()


class _Compiler:
    """Builds the builders of one read's selection."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.schema = selection.schema
        self.names = 0

    def roots(self, query: GraphQLObjectType, selection_set: SelectionSetNode) -> list[Any]:
        roots: list[tuple[str, Any]] = []
        for name, nodes in self.selection.fields(query, [selection_set]).items():
            field_name = nodes[0].name.value
            if field_name == "__typename":
                roots.append((name, None))
                continue
            definition = query.fields.get(field_name)
            if definition is None or field_name not in ("products", "product"):
                raise Unsupported(f"root field {field_name}")
            self.selection.guards_of(definition)
            # Read now, so that what the general executor would refuse is not compiled.
            get_argument_values(definition, nodes[0], self.selection.variables)
            if field_name == "products":
                connection, images, total = self._connection(nodes)
                roots.append((name, _Products(definition, nodes[0], connection, images, total)))
            else:
                product, images = self._product(self.selection.subselections(nodes))
                roots.append((name, _Product(definition, nodes[0], product, images)))
        return roots

    def _connection(self, nodes: list[FieldNode]) -> tuple[Callable[..., Any], bool, bool]:
        """The connection's builder (page, images, total); whether it shows images, and
        whether it counts."""
        grouped = self._fields("ProductConnection", self.selection.subselections(nodes))
        namespace: dict[str, Any] = {}
        fields: list[tuple[str, str]] = []
        images = total = False
        for name, (field_name, field_nodes) in grouped.items():
            subselections = self.selection.subselections(field_nodes)
            expression = CONNECTION[field_name]
            if field_name == "edges":
                edge, images_here = self._edge(subselections)
                images = images or images_here
                expression = expression.format(builder=self._name(namespace, edge))
            elif field_name == "pageInfo":
                page_info = self._object("PageInfo", PAGE_INFO, subselections, "page")
                expression = expression.format(builder=self._name(namespace, page_info))
            total = total or field_name == "totalCount"
            fields.append((name, expression))
        return builder(fields, namespace, "page, images, total"), images, total

    def _edge(self, selection_sets: list[SelectionSetNode]) -> tuple[Callable[..., Any], bool]:
        grouped = self._fields("ProductEdge", selection_sets)
        namespace: dict[str, Any] = {}
        fields: list[tuple[str, str]] = []
        images = False
        for name, (field_name, field_nodes) in grouped.items():
            expression = EDGE[field_name]
            if field_name == "node":
                node, images_here = self._product(self.selection.subselections(field_nodes))
                images = images or images_here
                expression = expression.format(builder=self._name(namespace, node))
            fields.append((name, expression))
        return builder(fields, namespace, "item, page, images"), images

    def _product(self, selection_sets: list[SelectionSetNode]) -> tuple[Callable[..., Any], bool]:
        """The product's builder (row, images) and whether it shows images."""
        grouped = self._fields("Product", selection_sets)
        namespace: dict[str, Any] = {
            "product_id": partial(to_global_id, "Product"),
            "decimal": self._serializer("Decimal"),
            "moment": self._serializer("DateTime"),
        }
        fields: list[tuple[str, str]] = []
        for name, (field_name, field_nodes) in grouped.items():
            expression = PRODUCT[field_name]
            if field_name == "images":
                image = self._image(self.selection.subselections(field_nodes))
                expression = expression.format(builder=self._name(namespace, image))
            fields.append((name, expression))
        images = any(field_name == "images" for field_name, _ in grouped.values())
        return builder(fields, namespace, "row, images"), images

    def _image(self, selection_sets: list[SelectionSetNode]) -> Callable[..., Any]:
        image_type = self._type("ProductImage")
        namespace: dict[str, Any] = {
            "image_id": partial(to_global_id, "ProductImage"),
            "resized": _resized,
        }
        fields: list[tuple[str, str]] = []
        for name, nodes in self.selection.fields(image_type, selection_sets).items():
            field_name = nodes[0].name.value
            definition = image_type.fields.get(field_name)
            if field_name == "resizedUrl" and definition is not None:
                self.selection.guards_of(definition)
                size = self._name(namespace, self.selection.arguments(definition, nodes[0])["size"])
                fields.append((name, f"resized(row, {size})"))
                continue
            fields.append((name, self._expression(image_type, IMAGE, field_name)))
        return builder(fields, namespace, "row")

    def _object(
        self,
        type_name: str,
        table: dict[str, str],
        selection_sets: list[SelectionSetNode],
        parameters: str,
    ) -> Callable[..., Any]:
        grouped = self._fields(type_name, selection_sets)
        fields = [(name, table[field_name]) for name, (field_name, _) in grouped.items()]
        return builder(fields, {}, parameters)

    def _fields(
        self, type_name: str, selection_sets: list[SelectionSetNode]
    ) -> dict[str, tuple[str, list[FieldNode]]]:
        """The selected fields of a type whose table answers them all (guards noted)."""
        object_type = self._type(type_name)
        table = {
            "Product": PRODUCT,
            "ProductEdge": EDGE,
            "ProductConnection": CONNECTION,
            "PageInfo": PAGE_INFO,
        }[type_name]
        grouped = {}
        for name, nodes in self.selection.fields(object_type, selection_sets).items():
            field_name = nodes[0].name.value
            self._expression(object_type, table, field_name)
            grouped[name] = (field_name, nodes)
        return grouped

    def _expression(self, object_type: GraphQLObjectType, table: dict[str, str], name: str) -> str:
        """The field's expression; Unsupported when the table or the schema lacks it."""
        if name not in table:
            raise Unsupported(f"{object_type.name}.{name}")
        if name != "__typename":
            definition = object_type.fields.get(name)
            if definition is None:
                raise Unsupported(f"{object_type.name}.{name} is not in the schema")
            self.selection.guards_of(definition)
        return table[name]

    def _type(self, name: str) -> GraphQLObjectType:
        object_type = self.schema.get_type(name)
        if not isinstance(object_type, GraphQLObjectType):
            raise Unsupported(f"{name} is not an object type")
        return object_type

    def _serializer(self, scalar: str) -> Callable[[Any], Any]:
        scalar_type = self.schema.get_type(scalar)
        if not isinstance(scalar_type, GraphQLScalarType):
            raise Unsupported(f"{scalar} is not a scalar")
        return scalar_type.serialize

    def _name(self, namespace: dict[str, Any], value: Any) -> str:
        """A fresh name in `namespace` bound to `value`."""
        self.names += 1
        name = f"value_{self.names}"
        namespace[name] = value
        return name
