"""The ASGI application: FastAPI with the GraphQL router, health, readiness and metrics."""

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from gql.auth.http import router as auth_router
from gql.auth.sessions import AuthTools
from gql.cache.responses import CatalogReads
from gql.core.config import Settings, get_settings
from gql.core.db import Database
from gql.core.gc_tuning import tune_for_serving
from gql.core.housekeeping import cancel_and_wait, every, purge_forever
from gql.core.observability import Metrics, ensure_logging, tag_log_records_with_request_id
from gql.graphql.context import Context, client_of, context_getter
from gql.graphql.schema import schema
from gql.media.http import media_router
from gql.media.storage import storage_for
from gql.realtime.hub import StockEventHub
from gql.realtime.websocket import TransportWSHandler, WebSocketEndpoint
from gql.web import costbudget, ratelimit, storefront
from gql.web.costbudget import CostBudget
from gql.web.graphiql import ASSETS_PATH, GraphiQLPage
from gql.web.middleware import (
    GRAPHQL_PATH,
    BodyLimit,
    JsonOnlyGraphQL,
    RequestTelemetry,
    SecurityHeaders,
    WellFormedGraphQL,
)
from gql.web.persisted import PersistedQueries, load_safelist
from gql.web.ratelimit import RateLimit, RateLimiter
from gql.web.router import Router

logger = logging.getLogger("gql")

# FastAPI's /docs page loads Swagger UI from jsDelivr.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "frame-ancestors 'none'"
)


def page_policies(graphiql: GraphiQLPage | None) -> Callable[[Scope], str | None]:
    """The Content-Security-Policy of each HTML page we serve."""

    def policy(scope: Scope) -> str | None:
        if scope["path"].startswith(("/docs", "/redoc")):
            return DOCS_CSP
        if scope["path"] == storefront.PATH or scope["path"].startswith(f"{storefront.PATH}/"):
            return storefront.CSP
        return graphiql.csp if graphiql is not None else None

    return policy


class App(FastAPI):
    """FastAPI, with the GraphQL WebSocket endpoint served before its routing."""

    websocket_endpoint: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """WebSockets of /graphql go straight to their endpoint; the rest to FastAPI."""
        endpoint = self.websocket_endpoint
        if endpoint is not None and scope["type"] == "websocket" and scope["path"] == GRAPHQL_PATH:
            await endpoint(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def metrics_allowed(settings: Settings, authorization: str | None) -> bool:
    """Whether a request may read /metrics: with METRICS_TOKEN set, only with it as a bearer
    token; without, in development and tests only."""
    token = settings.metrics_token
    if token is None:
        return not settings.is_production
    expected = f"Bearer {token.get_secret_value()}"
    return hmac.compare_digest((authorization or "").encode(), expected.encode())


def _graphql_router(settings: Settings, graphiql: GraphiQLPage | None) -> Router:
    return Router(
        schema,
        # A FastAPI dependency with `yield` (it closes the session); Strawberry's annotation
        # does not list generators.
        context_getter=cast(Any, context_getter),
        graphiql=graphiql,
        allow_queries_via_get=not settings.is_production,
        # Uploads (GraphQL multipart requests) only with a preflight header: JsonOnlyGraphQL.
        multipart_uploads_enabled=True,
    )


def _websocket_endpoint(
    app: FastAPI, settings: Settings, limiter: RateLimiter, safelist: dict[str, str] | None
) -> WebSocketEndpoint:
    def make_context(websocket: WebSocket) -> Context:
        # From the app's state when the socket opens, as for an HTTP request's context.
        state = app.state
        return Context(
            state.database,
            state.settings,
            state.auth,
            authorization=websocket.headers.get("authorization"),
            client=client_of(websocket),
            hub=state.hub,
            long_lived=True,
            metrics=state.metrics,
            cost_budget=state.cost_budget,
        )

    endpoint = WebSocketEndpoint(
        schema,
        make_context,
        connections_per_user=settings.connections_per_user,
        connections_per_address=settings.ws_connections_per_address,
        rate_limiter=limiter,
        safelist=safelist,
        allowed_origins=settings.cors_origins,
        subscription_protocols=(
            (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL)
            if settings.graphql_ws_legacy
            else (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        ),
        keep_alive=True,  # the legacy protocol's "ka" messages
        keep_alive_interval=settings.ws_keepalive_seconds,
        max_subscriptions_per_connection=settings.subscriptions_per_connection,
    )

    class ConfiguredTransportWSHandler(TransportWSHandler):
        ping_interval = settings.ws_keepalive_seconds

    endpoint.graphql_transport_ws_handler_class = ConfiguredTransportWSHandler
    return endpoint


def _with_middleware(
    app: FastAPI,
    settings: Settings,
    metrics: Metrics,
    limiter: RateLimiter,
    graphiql: GraphiQLPage | None,
    catalog_reads: dict[str, Any],
    safelist: dict[str, str] | None,
) -> None:
    """Outermost first: ids and logs, security headers, CORS, rate limit, body size, CSRF,
    well-formed bodies, persisted queries, and catalog reads (cached or compiled)."""
    layers: list[tuple[type[Any], dict[str, Any]]] = [
        (RequestTelemetry, {"metrics": metrics}),
        (SecurityHeaders, {"page_csp": page_policies(graphiql)}),
        (
            CORSMiddleware,
            {
                "allow_origins": settings.cors_origins,
                "allow_methods": ["GET", "POST", "OPTIONS"],
                "allow_headers": [
                    "Authorization",
                    "Content-Type",
                    "X-Request-ID",
                    "Apollo-Require-Preflight",
                    "X-Apollo-Operation-Name",
                ],
                "expose_headers": ["X-Request-ID", "Retry-After"],
                "max_age": 600,
            },
        ),
        (RateLimit, {"limiter": limiter}),
        (
            BodyLimit,
            # An upload's form around the file: the operation, its map and part headers.
            {"limit": settings.max_body_bytes, "upload_limit": settings.media_max_bytes + 65536},
        ),
        (JsonOnlyGraphQL, {"uploads": True}),
        (WellFormedGraphQL, {}),
        (
            PersistedQueries,
            {
                "max_bytes": settings.persisted_queries_bytes,
                "mode": settings.persisted_queries,
                "safelist": safelist,
            },
        ),
    ]
    if settings.response_cache or settings.compiled_reads:
        layers.append((CatalogReads, catalog_reads))
    for middleware, options in reversed(layers):
        app.add_middleware(cast(Any, middleware), **options)


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    auth: AuthTools | None = None,
) -> FastAPI:
    """Build the application; a given `database` is shared and left open on shutdown."""
    settings = settings or get_settings()
    ensure_logging(settings)
    tag_log_records_with_request_id()
    owns_database = database is None
    db = database or Database(settings)
    tools = auth or AuthTools.from_settings(settings)
    hub = StockEventHub(
        db,
        poll_seconds=settings.stock_events_poll_seconds,
        auth_check_seconds=settings.subscription_auth_check_seconds,
    )
    limiter = RateLimiter(settings.rate_limit_requests, settings.rate_limit_window_seconds)
    cost_budget = CostBudget(settings.cost_budget_maximum, settings.cost_restore_rate)
    metrics = Metrics(db, lambda: len(hub.subscribers), settings.prometheus_multiproc_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        background: list[asyncio.Task[None]] = []
        if settings.purge_interval_seconds:
            background.append(
                asyncio.create_task(purge_forever(db, tools, settings.purge_interval_seconds))
            )
        # Each process shares its counts and charges; a failed round keeps them for the next.
        sharing = settings.rate_limit_sync_seconds
        if limiter.enabled and not db.is_sqlite:
            background.append(
                asyncio.create_task(
                    every(
                        sharing,
                        lambda: limiter.sync(db),
                        failure="sharing rate-limit counts failed",
                        log=ratelimit.logger,
                    )
                )
            )
        if cost_budget.enabled and not db.is_sqlite:
            background.append(
                asyncio.create_task(
                    every(
                        sharing,
                        lambda: cost_budget.sync(db),
                        failure="sharing cost budgets failed",
                        log=costbudget.logger,
                    )
                )
            )
        if metrics.multiprocess_dir is not None:
            background.append(asyncio.create_task(metrics.refresh_forever()))
        await hub.start()
        tune_for_serving()
        yield
        await hub.stop()
        for task in background:
            await cancel_and_wait(task)
        metrics.forget_process()
        if owns_database:
            await db.dispose()

    docs = not settings.is_production
    app = App(
        title="gql",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.auth = tools
    app.state.hub = hub
    app.state.rate_limiter = limiter
    app.state.cost_budget = cost_budget
    app.state.metrics = metrics
    graphiql = GraphiQLPage.load() if settings.graphiql_enabled else None
    app.include_router(_graphql_router(settings, graphiql), prefix="/graphql")
    app.include_router(auth_router)
    app.include_router(media_router(db, storage_for(settings, db)))
    if graphiql is not None and (assets := graphiql.assets()) is not None:
        app.mount(ASSETS_PATH, assets, name="graphiql")
    if (shop := storefront.storefront_files(settings)) is not None:
        app.mount(storefront.PATH, shop, name="storefront")
    catalog_reads = {
        "database": db,
        "auth": tools,
        "settings": settings,
        "budget": cost_budget,
        "metrics": metrics,
        "cache": settings.response_cache,
        "compiled": settings.compiled_reads,
    }
    safelist = (
        load_safelist(settings.persisted_queries_safelist)
        if settings.persisted_queries == "safelist" and settings.persisted_queries_safelist
        else None
    )
    _with_middleware(app, settings, metrics, limiter, graphiql, catalog_reads, safelist)
    # Request ids for the sockets' log lines, as for every request.
    endpoint = _websocket_endpoint(app, settings, limiter, safelist)
    app.websocket_endpoint = RequestTelemetry(endpoint, metrics)

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

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        if not metrics_allowed(settings, request.headers.get("authorization")):
            # Off the public API in production unless scraped with METRICS_TOKEN.
            return Response(status_code=404)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app
