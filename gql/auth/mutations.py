"""Identity mutations: register, login, token refresh, logout and password change."""

from typing import Annotated

import strawberry

from gql.auth import service, sessions
from gql.auth.errors import InvalidCredentials, RefreshTokenReused
from gql.auth.types import (
    AuthPayload,
    EmailTakenError,
    InvalidCredentialsError,
)
from gql.graphql.context import Info
from gql.graphql.ids import parse_key
from gql.graphql.permissions import authenticated, public
from gql.graphql.user_errors import (
    NotFoundError,
    RateLimitedError,
    ValidationError,
    returns_user_errors,
)


@strawberry.input
class RegisterInput:
    email: str
    password: str = strawberry.field(description="8 to 128 characters, not the email.")
    full_name: str = ""


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type(description="Sessions were ended.")
class LogoutSuccess:
    revoked_sessions: int


@strawberry.type
class RevokeSessionSuccess:
    session_id: strawberry.ID


@strawberry.type(description="The password changed; every other session was ended.")
class ChangePasswordSuccess:
    revoked_sessions: int


RegisterResult = Annotated[
    AuthPayload | ValidationError | EmailTakenError, strawberry.union("RegisterResult")
]
LoginResult = Annotated[
    AuthPayload | InvalidCredentialsError | RateLimitedError, strawberry.union("LoginResult")
]
RevokeSessionResult = Annotated[
    RevokeSessionSuccess | NotFoundError, strawberry.union("RevokeSessionResult")
]
ChangePasswordResult = Annotated[
    ChangePasswordSuccess | InvalidCredentialsError | RateLimitedError | ValidationError,
    strawberry.union("ChangePasswordResult"),
]


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account and sign in.", metadata=public())
    @returns_user_errors
    async def register(self, info: Info, input: RegisterInput) -> RegisterResult:
        """New accounts are active at once."""
        context = info.context
        registration = await service.prepare_registration(
            context.reading,
            context.auth,
            email=input.email,
            password=input.password,
            full_name=input.full_name,
        )
        async with context.transaction() as session:
            signed_in = await service.register(
                session, context.auth, registration, client=context.client
            )
        return AuthPayload.of(signed_in, context.auth.clock())

    @strawberry.mutation(description="Sign in with email and password.", metadata=public())
    @returns_user_errors
    async def login(self, info: Info, input: LoginInput) -> LoginResult:
        """Failures are counted per account and per address; too many lock logins out."""
        context = info.context
        check = await service.check_login(
            context.reading,
            context.auth,
            email=input.email,
            password=input.password,
            client=context.client,
        )
        async with context.transaction(commit_on=(InvalidCredentials,)) as session:
            signed_in = await service.finish_login(session, context.auth, check, context.client)
        return AuthPayload.of(signed_in, context.auth.clock())

    @strawberry.mutation(
        description="Exchange a refresh token for a new pair; each refresh token works once.",
        metadata=public(),
    )
    @returns_user_errors
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        """UNAUTHENTICATED or TOKEN_EXPIRED in `errors` when the token cannot be exchanged."""
        context = info.context
        async with context.transaction(commit_on=(RefreshTokenReused,)) as session:
            signed_in = await sessions.refresh(session, context.auth, refresh_token)
        return AuthPayload.of(signed_in, context.auth.clock())

    @strawberry.mutation(description="End the current session.", extensions=authenticated())
    @returns_user_errors
    async def logout(self, info: Info) -> LogoutSuccess:
        """Its access and refresh tokens stop working at once."""
        viewer = await info.context.require_viewer()
        async with info.context.transaction() as session:
            revoked = await sessions.logout(session, info.context.auth, viewer)
        info.context.forget_viewer()
        return LogoutSuccess(revoked_sessions=revoked)

    @strawberry.mutation(
        description="End every session of the caller, this one included.",
        extensions=authenticated(),
    )
    @returns_user_errors
    async def logout_all(self, info: Info) -> LogoutSuccess:
        """Every token of the caller stops working at once."""
        viewer = await info.context.require_viewer()
        async with info.context.transaction() as session:
            revoked = await sessions.logout_all(session, info.context.auth, viewer)
        info.context.forget_viewer()
        return LogoutSuccess(revoked_sessions=revoked)

    @strawberry.mutation(
        description="End one of the caller's sessions (see mySessions).", extensions=authenticated()
    )
    @returns_user_errors
    async def revoke_session(self, info: Info, id: strawberry.ID) -> RevokeSessionResult:
        """Another user's session reads exactly like a missing one."""
        viewer = await info.context.require_viewer()
        session_id = parse_key(id, "Session") or ""
        async with info.context.transaction() as session:
            await sessions.revoke_session(session, info.context.auth, viewer, session_id)
        if session_id == viewer.session_id:
            info.context.forget_viewer()
        return RevokeSessionSuccess(session_id=id)

    @strawberry.mutation(
        description="Change the password; every other session is ended. A wrong current "
        "password counts as a failed login of the account.",
        extensions=authenticated(),
    )
    @returns_user_errors
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordResult:
        """The current password must be given again."""
        context = info.context
        viewer = await context.require_viewer()
        check, new_hash = await service.check_password_change(
            context.reading,
            context.auth,
            viewer,
            current_password=input.current_password,
            new_password=input.new_password,
            client=context.client,
        )
        async with context.transaction(commit_on=(InvalidCredentials,)) as session:
            revoked = await service.change_password(session, context.auth, viewer, check, new_hash)
        return ChangePasswordSuccess(revoked_sessions=revoked)
