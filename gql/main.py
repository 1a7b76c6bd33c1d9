"""The ASGI application: FastAPI with the GraphQL router, health and readiness."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UnsetType

from gql.auth.http import router as auth_router
from gql.auth.service import AuthTools
from gql.config import Settings, get_settings
from gql.context import Context, context_getter
from gql.db import Database
from gql.errors import RequestError
from gql.housekeeping import purge_forever
from gql.schema import schema

logger = logging.getLogger("gql")


class Router(GraphQLRouter[Context, None]):
    """The GraphQL endpoint, answering with orjson."""

    def encode_json(self, data: object) -> bytes:
        """orjson is several times faster than the standard library here."""
        return orjson.dumps(data)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its `connection_init` payload; refuse a bad token."""
        params = context.connection_params
        if isinstance(params, dict):
            token = params.get("Authorization") or params.get("authorization")
            if isinstance(token, str):
                context.authorization = token
        try:
            await context.viewer()
        except RequestError as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        finally:
            # The connection lives long; it must not hold a database session meanwhile.
            await context.close()
        return None


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    auth: AuthTools | None = None,
) -> FastAPI:
    """Build the application; a given `database` is shared and left open on shutdown."""
    settings = settings or get_settings()
    owns_database = database is None
    db = database or Database(settings)
    tools = auth or AuthTools.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        purger = None
        if settings.purge_interval_seconds:
            purger = asyncio.create_task(purge_forever(db, tools, settings.purge_interval_seconds))
        yield
        if purger is not None:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
        if owns_database:
            await db.dispose()

    app = FastAPI(title="gql", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.database = db
    app.state.auth = tools

    router = Router(
        schema,
        # A FastAPI dependency with `yield` (it closes the session); Strawberry's annotation
        # does not list generators.
        context_getter=cast(Any, context_getter),
        graphql_ide="graphiql" if settings.graphiql else None,
    )
    app.include_router(router, prefix="/graphql")
    app.include_router(auth_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            await db.ping()
        except Exception:
            logger.warning("readiness check failed: database unreachable", exc_info=True)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app
