"""Identity mutations: register, login, token refresh, logout and password change."""

from typing import Annotated

import strawberry

from gql.auth import service, sessions
from gql.auth.errors import InvalidCredentials, RefreshTokenReused
from gql.auth.passwords import MAX_LENGTH, MIN_LENGTH
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

PASSWORD = f"{MIN_LENGTH} to {MAX_LENGTH} characters, no control characters, not the email."


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(
        description=f"The email address to sign in with, at most {service.MAX_EMAIL} "
        "characters; stored trimmed and in lower case."
    )
    password: str = strawberry.field(description=PASSWORD)
    full_name: str = strawberry.field(
        default="",
        description=f"The user's name, at most {service.MAX_FULL_NAME} characters, without "
        "control or invisible characters.",
    )


@strawberry.input(description="The credentials to sign in with.")
class LoginInput:
    email: str = strawberry.field(description="The account's email address, in any case.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="The password in use and its replacement.")
class ChangePasswordInput:
    current_password: str = strawberry.field(
        description="The password in use; a wrong one counts as a failed login."
    )
    new_password: str = strawberry.field(description=f"The new password: {PASSWORD}")


@strawberry.type(description="Sessions were ended.")
class LogoutSuccess:
    revoked_sessions: int = strawberry.field(description="How many sessions ended.")


@strawberry.type(description="The session was ended.")
class RevokeSessionSuccess:
    session_id: strawberry.ID = strawberry.field(description="The `id` of the ended session.")


@strawberry.type(description="The password changed; every other session was ended.")
class ChangePasswordSuccess:
    revoked_sessions: int = strawberry.field(description="How many other sessions ended.")


RegisterResult = Annotated[
    AuthPayload | ValidationError | EmailTakenError,
    strawberry.union("RegisterResult", description="The new account signed in, or why not."),
]
LoginResult = Annotated[
    AuthPayload | InvalidCredentialsError | RateLimitedError,
    strawberry.union("LoginResult", description="A new session's tokens, or why not."),
]
RevokeSessionResult = Annotated[
    RevokeSessionSuccess | NotFoundError,
    strawberry.union(
        "RevokeSessionResult",
        description="The ended session, or NotFoundError (another user's session included).",
    ),
]
ChangePasswordResult = Annotated[
    ChangePasswordSuccess | InvalidCredentialsError | RateLimitedError | ValidationError,
    strawberry.union(
        "ChangePasswordResult", description="The changed password, or why it did not change."
    ),
]


@strawberry.type
class AuthMutation:
    @strawberry.mutation(
        description="Create an account with the `customer` role and sign in.", metadata=public()
    )
    @returns_user_errors
    async def register(
        self,
        info: Info,
        input: Annotated[
            RegisterInput, strawberry.argument(description="The account's email, password, name.")
        ],
    ) -> RegisterResult:
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

    @strawberry.mutation(
        description="Sign in with email and password. After LOGIN_MAX_FAILURES_PER_ACCOUNT (5 by "
        "default) failed logins of an account, or LOGIN_MAX_FAILURES_PER_IP (50 by default) "
        "from one address, within LOGIN_FAILURE_WINDOW_SECONDS (900 by default), logins "
        "answer RateLimitedError.",
        metadata=public(),
    )
    @returns_user_errors
    async def login(
        self,
        info: Info,
        input: Annotated[LoginInput, strawberry.argument(description="Email and password.")],
    ) -> LoginResult:
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
    async def refresh_token(
        self,
        info: Info,
        refresh_token: Annotated[
            str,
            strawberry.argument(
                description="The `refreshToken` of the session's latest pair; a used one ends "
                "the session (UNAUTHENTICATED)."
            ),
        ],
    ) -> AuthPayload:
        """UNAUTHENTICATED or TOKEN_EXPIRED in `errors` when the token cannot be exchanged."""
        context = info.context
        async with context.transaction(commit_on=(RefreshTokenReused,)) as session:
            signed_in = await sessions.refresh(session, context.auth, refresh_token)
        return AuthPayload.of(signed_in, context.auth.clock())

    @strawberry.mutation(
        description="End the current session. Needs a signed-in caller.",
        extensions=authenticated(),
    )
    @returns_user_errors
    async def logout(self, info: Info) -> LogoutSuccess:
        """Its access and refresh tokens stop working at once."""
        viewer = await info.context.require_viewer()
        async with info.context.transaction() as session:
            revoked = await sessions.logout(session, info.context.auth, viewer)
        info.context.forget_viewer()
        return LogoutSuccess(revoked_sessions=revoked)

    @strawberry.mutation(
        description="End every session of the caller, this one included. Needs a signed-in caller.",
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
        description="End one of the caller's sessions (see mySessions). Needs a signed-in caller.",
        extensions=authenticated(),
    )
    @returns_user_errors
    async def revoke_session(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The session's `id`.")],
    ) -> RevokeSessionResult:
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
        "password counts as a failed login of the account. Needs a signed-in caller.",
        extensions=authenticated(),
    )
    @returns_user_errors
    async def change_password(
        self,
        info: Info,
        input: Annotated[
            ChangePasswordInput,
            strawberry.argument(description="The password in use and the new one."),
        ],
    ) -> ChangePasswordResult:
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
