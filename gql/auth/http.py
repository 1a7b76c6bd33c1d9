"""REST endpoints of identity: the OAuth2 password flow for tools, and the JWKS."""

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from gql.auth import service, sessions
from gql.auth.errors import InvalidCredentials, LoginRateLimited
from gql.auth.tokens import TokenExpired
from gql.core.db import new_session
from gql.core.errors import BadUserInput, Unauthenticated
from gql.graphql.context import client_of
from gql.graphql.ids import to_global_id

router = APIRouter()
bearer = OAuth2PasswordBearer(tokenUrl="/auth/token")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


@router.post("/auth/token", tags=["auth"], summary="OAuth2 password flow")
async def issue_token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, Any]:
    """Log in with form fields `username` (the email) and `password`."""
    state = request.app.state
    tools: sessions.AuthTools = state.auth
    client = client_of(request)
    try:
        # The password is checked outside the write transaction, which stays short.
        check = await service.check_login(
            lambda: new_session(state.database, write=False, transaction=False),
            tools,
            email=form.username,
            password=form.password,
            client=client,
        )
        async with new_session(state.database, write=True) as session:
            try:
                signed_in = await service.finish_login(session, tools, check, client)
            except InvalidCredentials:
                await session.commit()
                raise
            await session.commit()
    except InvalidCredentials as error:
        raise _unauthorized(error.message) from None
    except BadUserInput as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=error.message) from None
    except LoginRateLimited as error:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=error.message,
            headers={"Retry-After": str(error.retry_after)},
        ) from None
    expires_in = math.ceil((signed_in.access.expires_at - tools.clock()).total_seconds())
    return {
        "access_token": signed_in.access.token,
        "token_type": "bearer",
        "expires_in": max(0, expires_in),
        "refresh_token": signed_in.refresh.token,
    }


@router.get("/auth/me", tags=["auth"], summary="The caller of an access token")
async def read_me(request: Request, token: Annotated[str, Depends(bearer)]) -> dict[str, Any]:
    """What /docs shows after "Authorize": the account behind the token."""
    state = request.app.state
    async with new_session(state.database, write=False) as session:
        try:
            viewer = await sessions.authenticate(session, state.auth, token)
        except TokenExpired as error:
            raise _unauthorized(error.message) from None
        except Unauthenticated as error:
            raise _unauthorized(error.message) from None
    user = viewer.user
    return {"id": to_global_id("User", user.id), "email": user.email, "full_name": user.full_name}


@router.get("/.well-known/jwks.json", tags=["auth"], summary="Public keys of our tokens")
async def jwks(request: Request) -> dict[str, Any]:
    """Empty for HS256, whose key is a shared secret."""
    tools: sessions.AuthTools = request.app.state.auth
    return tools.tokens.jwks()
