"""Guards on schema fields, and the gate that every root field is guarded or public."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from gql.auth.sessions import Viewer
from gql.core.errors import Forbidden, Unauthenticated
from gql.graphql import compat

ACCESS_KEY = "gql.access"
PUBLIC = "public"
# Among the permissions a guard names: "any signed-in caller", and "decided by who the
# caller is" (a rule of another kind), which no two callers may share an answer under.
SIGNED_IN = "(signed in)"
CALLER = "(the caller)"


def public() -> Mapping[str, Any]:
    """Field metadata: open to anonymous callers on purpose."""
    return {ACCESS_KEY: PUBLIC}


class _Rule(BasePermission):
    """A check that decides from the caller and their permissions, read when not known."""

    def decide(self, viewer: Viewer | None, granted: frozenset[str]) -> bool:
        """Whether a known caller passes (or a coded error)."""
        raise NotImplementedError

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        """A bad or expired token raises its own code while the caller is read."""
        viewer = await info.context.viewer()
        return self.decide(viewer, viewer.permissions if viewer is not None else frozenset())

    def on_unauthorized(self) -> None:
        """Raise a coded error instead of Strawberry's generic one."""
        raise Forbidden(self.message or "Forbidden.")


class IsAuthenticated(_Rule):
    """Any caller with a valid access token of a live session."""

    message = "Authentication is required."

    def decide(self, viewer: Viewer | None, granted: frozenset[str]) -> bool:
        """Whether there is a caller."""
        return viewer is not None

    def on_unauthorized(self) -> None:
        """No caller: UNAUTHENTICATED."""
        raise Unauthenticated(self.message)


class HasPermission(_Rule):
    """A caller whose roles grant `permission`."""

    def __init__(self, permission: str) -> None:
        self.permission = permission
        self.message = f"The `{permission}` permission is required."

    def decide(self, viewer: Viewer | None, granted: frozenset[str]) -> bool:
        """UNAUTHENTICATED without a caller; whether a known caller holds the permission."""
        if viewer is None:
            raise Unauthenticated("Authentication is required.")
        return self.permission in granted


class HasAnyPermission(_Rule):
    """A caller whose roles grant at least one of `permissions`."""

    def __init__(self, *permissions: str) -> None:
        self.permissions = permissions
        self.message = "One of " + ", ".join(f"`{p}`" for p in permissions) + " is required."

    def decide(self, viewer: Viewer | None, granted: frozenset[str]) -> bool:
        """UNAUTHENTICATED without a caller; whether a known caller holds one of them."""
        if viewer is None:
            raise Unauthenticated("Authentication is required.")
        return not granted.isdisjoint(self.permissions)


class Guard(PermissionExtension):
    """A permission check that costs no await when the request already knows its caller
    (an HTTP request reads them, permissions included, before executing)."""

    permissions: list[_Rule]  # type: ignore[assignment]

    def __init__(self, rule: _Rule) -> None:
        super().__init__(permissions=[rule], use_directives=False)

    @property
    def supports_sync(self) -> bool:
        """Plain fields stay synchronous: the check below needs no I/O once access is known."""
        return True

    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        """Decide at once when the caller is known; otherwise read them first."""
        known = info.context.known_access()
        if known is None:
            # graphql-core awaits what a resolver returns when it is awaitable.
            return self.resolve_async(next_, source, info, **kwargs)
        refusing = self.refusing_rule(*known)
        if refusing is not None:
            return self._on_unauthorized(refusing)
        return next_(source, info, **kwargs)

    def refusing_rule(self, viewer: Viewer | None, granted: frozenset[str]) -> _Rule | None:
        """The first rule a known caller fails (None: they pass); a rule may instead raise
        its own coded error (UNAUTHENTICATED without a caller)."""
        return next((rule for rule in self.permissions if not rule.decide(viewer, granted)), None)


def authenticated() -> list[FieldExtension]:
    """Field extensions: any signed-in caller."""
    return [Guard(IsAuthenticated())]


def requires(permission: str) -> list[FieldExtension]:
    """Field extensions: callers holding `permission`."""
    return [Guard(HasPermission(permission))]


class _GuardCollector(Visitor):
    """Collects the permissions named by the guards of the fields it visits."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        """Note the guards of this field."""
        definition = self.type_info.get_field_def()
        extensions = definition.extensions if definition is not None else {}
        field = extensions.get(compat.DEFINITION_BACKREF)
        if not isinstance(field, StrawberryField):
            return
        for extension in field.extensions:
            if isinstance(extension, PermissionExtension):
                for rule in extension.permissions:
                    self.found.update(_named(rule))


def _named(rule: BasePermission) -> frozenset[str]:
    """What a guard's decision depends on: the permissions it names, being signed in, or
    (any other rule, subclasses of these included: they may decide otherwise) who the
    caller is."""
    if type(rule) is HasPermission:
        return frozenset({rule.permission})
    if type(rule) is HasAnyPermission:
        return frozenset(rule.permissions)
    if type(rule) is IsAuthenticated:
        return frozenset({SIGNED_IN})
    return frozenset({CALLER})


def permissions_guarding(schema: GraphQLSchema, document: DocumentNode) -> frozenset[str]:
    """The permissions that guard the fields a document selects (SIGNED_IN for a guard
    that admits any signed-in caller, CALLER for one that decides by who they are): all
    that its result can depend on, of whatever the caller holds."""
    type_info = TypeInfo(schema)
    collector = _GuardCollector(type_info)
    visit(document, TypeInfoVisitor(type_info, collector))
    return frozenset(collector.found)


def deciding(viewer: Viewer | None, guarding: frozenset[str]) -> frozenset[str]:
    """Of what the guards of a document depend on (`permissions_guarding`), what this
    caller holds: callers alike in it pass and fail the same guards."""
    if viewer is None:
        return frozenset()
    return (viewer.permissions | {SIGNED_IN}) & guarding


@dataclass(frozen=True)
class FieldAccess:
    """Who may resolve one field of the schema."""

    type_name: str
    field_name: str
    rule: str  # "public", "authenticated", a permission name, or "UNGUARDED"


def requires_any(*permissions: str) -> list[FieldExtension]:
    """Field extensions: callers holding at least one of `permissions`."""
    return [Guard(HasAnyPermission(*permissions))]


def _rule(field: StrawberryField) -> str | None:
    for extension in field.extensions:
        if isinstance(extension, PermissionExtension):
            names = []
            for permission in extension.permissions:
                if isinstance(permission, HasPermission):
                    names.append(permission.permission)
                elif isinstance(permission, HasAnyPermission):
                    names.append(" or ".join(permission.permissions))
                elif isinstance(permission, IsAuthenticated):
                    names.append("authenticated")
                else:
                    names.append(type(permission).__name__)
            return " + ".join(names)
    if field.metadata.get(ACCESS_KEY) == PUBLIC:
        return PUBLIC
    return None


def _fields(definition: StrawberryObjectDefinition) -> Iterator[StrawberryField]:
    yield from definition.fields


def field_access(schema: strawberry.Schema) -> list[FieldAccess]:
    """Every root field and every guarded object field, with its rule."""
    roots = {"Query", "Mutation", "Subscription"}
    result = []
    for name, concrete in sorted(schema.schema_converter.type_map.items()):
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_input:
            continue
        for field in _fields(definition):
            rule = _rule(field)
            field_name = schema.config.name_converter.from_field(field)
            if name in roots:
                result.append(FieldAccess(name, field_name, rule or "UNGUARDED"))
            elif rule is not None and rule != PUBLIC:
                result.append(FieldAccess(name, field_name, rule))
    return result


def unguarded_fields(schema: strawberry.Schema) -> list[str]:
    """Root fields that are neither guarded nor marked public: each one is a bug."""
    return [
        f"{access.type_name}.{access.field_name}"
        for access in field_access(schema)
        if access.rule == "UNGUARDED"
    ]


def permission_matrix(schema: strawberry.Schema) -> str:
    """Markdown: who may call each operation, and what each role grants."""
    from gql.auth.roles import PERMISSIONS, SEEDED_ROLES

    lines = [
        "# Permissions",
        "",
        "Generated by `gql export-permissions -o docs/permissions.md`; a test fails when it",
        "is stale. `public`: anyone; `authenticated`: any signed-in user; otherwise the",
        "permission the caller's roles must grant.",
        "",
        "## Operations and guarded fields",
        "",
        "| field | requires |",
        "|---|---|",
    ]
    order = {"Query": 0, "Mutation": 1, "Subscription": 2}
    for access in sorted(
        field_access(schema), key=lambda a: (order.get(a.type_name, 3), a.type_name, a.field_name)
    ):
        lines.append(f"| `{access.type_name}.{access.field_name}` | {access.rule} |")
    roles = list(SEEDED_ROLES)
    lines += [
        "",
        "## Seeded roles",
        "",
        "| permission | " + " | ".join(roles) + " | meaning |",
        "|---|" + "---|" * len(roles) + "---|",
    ]
    for name, description in PERMISSIONS.items():
        marks = ["yes" if name in SEEDED_ROLES[role][1] else "" for role in roles]
        lines.append(f"| `{name}` | " + " | ".join(marks) + f" | {description} |")
    return "\n".join(lines) + "\n"
