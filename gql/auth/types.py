"""GraphQL types of identity."""

import math
from datetime import datetime
from typing import Self

import strawberry

from gql.auth import models
from gql.auth.errors import EmailTaken, InvalidCredentials
from gql.auth.loaders import (
    permissions_by_role_id,
    role_by_id,
    roles_by_user_id,
    session_by_id,
    user_by_id,
)
from gql.auth.roles import LastAdmin, RoleNameTaken, UnknownPermission
from gql.auth.service import MAX_FULL_NAME
from gql.auth.sessions import SignedIn
from gql.graphql.context import Info
from gql.graphql.ids import to_global_id
from gql.graphql.node import Node, load_keys
from gql.graphql.user_errors import UserError


@strawberry.type(description="A named right, such as `product:write`.")
class Permission:
    name: str = strawberry.field(description="The permission's name, such as `order:create`.")
    description: str = strawberry.field(description="What the permission allows.")

    @classmethod
    def from_model(cls, permission: models.Permission) -> Self:
        """The GraphQL view of a permission row."""
        return cls(name=permission.name, description=permission.description)


@strawberry.type(description="A named set of permissions given to users.")
class Role(Node):
    id: strawberry.ID = strawberry.field(description="Global id of the role.")
    name: str = strawberry.field(
        description="Unique name: 2-64 lower-case letters, digits, '-' or '_', starting with a "
        "letter. The seeded roles are `admin`, `staff` and `customer`."
    )
    description: str = strawberry.field(
        description="What the role is for, at most 300 characters; may be empty."
    )
    db_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, role: models.Role) -> Self:
        """The GraphQL view of a role row."""
        return cls(
            id=to_global_id("Role", role.id),
            db_id=role.id,
            name=role.name,
            description=role.description,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["Role | None"]:
        """Any role with role:manage (as `roles`); otherwise the caller's own (as
        `me.roles`)."""
        viewer = await info.context.require_viewer()
        rows = await load_keys(info.context.loader(role_by_id), keys)
        if "role:manage" not in viewer.permissions:
            held = await info.context.loader(roles_by_user_id).load(viewer.user.id)
            own = {role.id for role in held}
            rows = [row if row is not None and row.id in own else None for row in rows]
        return [cls.from_model(row) if row is not None else None for row in rows]

    @strawberry.field(description="The permissions this role grants, by name.")
    async def permissions(self, info: Info) -> list[Permission]:
        """Batched per request."""
        rows = await info.context.loader(permissions_by_role_id).load(self.db_id)
        return [Permission.from_model(row) for row in rows]


@strawberry.type(description="An account.")
class User(Node):
    id: strawberry.ID = strawberry.field(description="Global id of the account.")
    email: str = strawberry.field(
        description="The email address to sign in with, trimmed and in lower case."
    )
    full_name: str = strawberry.field(
        description=f"The name the user gave, at most {MAX_FULL_NAME} characters; may be empty."
    )
    is_active: bool = strawberry.field(
        description="Whether the account may sign in (deactivating it ends its sessions)."
    )
    created_at: datetime = strawberry.field(description="When the account was made (UTC).")
    db_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, user: models.User) -> Self:
        """The GraphQL view of a user row."""
        return cls(
            id=to_global_id("User", user.id),
            db_id=user.id,
            email=user.email,
            full_name=user.full_name,
            is_active=user.is_active,
            created_at=user.created_at,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["User | None"]:
        """Anyone with user:manage (as `users`); otherwise only the caller (as `me`)."""
        viewer = await info.context.require_viewer()
        rows = await load_keys(info.context.loader(user_by_id), keys)
        if "user:manage" not in viewer.permissions:
            rows = [row if row is not None and row.id == viewer.user.id else None for row in rows]
        return [cls.from_model(row) if row is not None else None for row in rows]

    @strawberry.field(description="The user's roles, by name.")
    async def roles(self, info: Info) -> list[Role]:
        """Batched per request."""
        rows = await info.context.loader(roles_by_user_id).load(self.db_id)
        return [Role.from_model(row) for row in rows]

    @strawberry.field(description="Every permission the user's roles grant, by name.")
    async def permissions(self, info: Info) -> list[str]:
        """The union over the user's roles."""
        role_rows = await info.context.loader(roles_by_user_id).load(self.db_id)
        granted = await info.context.loader(permissions_by_role_id).load_many(
            [role.id for role in role_rows]
        )
        return sorted({permission.name for group in granted for permission in group})


@strawberry.type(description="A login: where and when it started and was last refreshed.")
class Session(Node):
    id: strawberry.ID = strawberry.field(description="Global id of the session, for revokeSession.")
    created_at: datetime = strawberry.field(description="When the session signed in (UTC).")
    last_used_at: datetime = strawberry.field(
        description="When its token was last refreshed, or else when it signed in (UTC)."
    )
    expires_at: datetime = strawberry.field(
        description="When the session ends unless its refresh token is exchanged first (UTC): "
        "REFRESH_TOKEN_TTL_SECONDS (14 days by default) after the sign-in or last exchange."
    )
    user_agent: str = strawberry.field(
        description="The User-Agent header of the request that signed in (its first 400 "
        "characters); empty when there was none."
    )
    current: bool = strawberry.field(description="Whether this request runs in this session.")

    @classmethod
    def from_model(cls, session: models.AuthSession, *, current_id: str) -> Self:
        """The GraphQL view of a session row."""
        return cls(
            id=to_global_id("Session", session.id),
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            current=session.id == current_id,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["Session | None"]:
        """Only the caller's sessions that still stand (as `mySessions`)."""
        viewer = await info.context.require_viewer()
        rows = await info.context.loader(session_by_id).load_many(keys)
        now = info.context.auth.clock()
        return [
            cls.from_model(row, current_id=viewer.session_id)
            if row is not None
            and row.user_id == viewer.user.id
            and row.revoked_at is None
            and row.expires_at > now
            else None
            for row in rows
        ]


@strawberry.type(description="A fresh token pair. Send the access token as `Bearer`.")
class AuthPayload:
    access_token: str = strawberry.field(
        description="A signed JWT to send as `Authorization: Bearer <token>`; it lasts "
        "ACCESS_TOKEN_TTL_SECONDS (900 by default)."
    )
    refresh_token: str = strawberry.field(
        description="Exchange it with refreshToken for a new pair. It works once (presented "
        "again, it ends the session) and lasts REFRESH_TOKEN_TTL_SECONDS (14 days by default)."
    )
    token_type: str = strawberry.field(description='Always "Bearer".')
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User = strawberry.field(description="The signed-in account.")

    @classmethod
    def of(cls, signed_in: SignedIn, now: datetime) -> Self:
        """The payload for a started or refreshed session."""
        return cls(
            access_token=signed_in.access.token,
            refresh_token=signed_in.refresh.token,
            token_type="Bearer",
            expires_in=max(0, math.ceil((signed_in.access.expires_at - now).total_seconds())),
            user=User.from_model(signed_in.user),
        )


@strawberry.type(
    description="The email or password is incorrect, or the account is inactive (which one is "
    "not told); code `INVALID_CREDENTIALS`."
)
class InvalidCredentialsError(UserError):
    answers = (InvalidCredentials,)


@strawberry.type(description="An account with this email exists already; code `EMAIL_TAKEN`.")
class EmailTakenError(UserError):
    answers = (EmailTaken,)


@strawberry.type(description="Another role has this name; code `ROLE_NAME_TAKEN`.")
class RoleNameTakenError(UserError):
    answers = (RoleNameTaken,)


@strawberry.type(
    description="A permission name that does not exist (`message` lists them); code "
    "`UNKNOWN_PERMISSION`."
)
class UnknownPermissionError(UserError):
    answers = (UnknownPermission,)


@strawberry.type(
    description="The change would leave no active admin, or take a permission from the admin "
    "role; code `LAST_ADMIN`."
)
class LastAdminError(UserError):
    answers = (LastAdmin,)
