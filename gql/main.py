"""The ASGI application: FastAPI with the GraphQL router, health and readiness."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter

from gql.config import Settings, get_settings
from gql.context import Context, context_getter
from gql.db import Database
from gql.schema import schema

logger = logging.getLogger("gql")


class Router(GraphQLRouter[Context, None]):
    """The GraphQL endpoint, answering with orjson."""

    def encode_json(self, data: object) -> bytes:
        """orjson is several times faster than the standard library here."""
        return orjson.dumps(data)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the application; a given `database` is shared and left open on shutdown."""
    settings = settings or get_settings()
    owns_database = database is None
    db = database or Database(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            await db.dispose()

    app = FastAPI(title="gql", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.database = db

    router = Router(
        schema,
        # A FastAPI dependency with `yield` (it closes the session); Strawberry's annotation
        # does not list generators.
        context_getter=cast(Any, context_getter),
        graphql_ide="graphiql" if settings.graphiql else None,
    )
    app.include_router(router, prefix="/graphql")

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
