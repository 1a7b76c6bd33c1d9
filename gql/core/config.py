"""Settings: the only place that reads the environment."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Good enough for a laptop, refused in production (ENV=production).
DEVELOPMENT_JWT_SECRET = "dev-insecure-secret-change-me-000000"
MIN_JWT_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Every setting of the service, read from the environment or `.env`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./gql.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    db_pool_size: int = Field(default=10, ge=1)
    # Connections beyond the pool are closed as soon as they are handed back, so under a
    # steady load above the pool size they are opened and closed over and over; waiting for
    # a pooled one costs less (figures: README, Settings).
    db_max_overflow: int = Field(default=0, ge=0)
    db_echo: bool = False
    # Test each pooled PostgreSQL connection before use (3 round trips per checkout with
    # asyncpg). Off: a connection the server dropped fails its request once, and the pool
    # then replaces every older connection. On behind proxies that drop idle connections.
    db_pool_pre_ping: bool = False
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    # Off in production whatever this says.
    graphiql: bool = True
    # Unset: readable text lines in development, JSON lines otherwise.
    log_format: Literal["json", "text"] | None = None

    # Abuse limits: documents beyond them are QUERY_TOO_COMPLEX before anything runs.
    max_query_depth: int = Field(default=10, ge=1)
    max_query_aliases: int = Field(default=15, ge=0)
    max_query_tokens: int = Field(default=2000, ge=10)
    max_query_cost: int = Field(default=5000, ge=1)
    max_query_directives: int = Field(default=10, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Catalog reads answered from memory while the catalog is unchanged (entries per process).
    response_cache: bool = True
    response_cache_size: int = Field(default=10000, ge=1)
    response_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    # Catalog reads the cache does not answer run compiled (gql.catalog.compiled).
    compiled_reads: bool = True
    # Automatic persisted queries: query texts remembered by hash, in bytes per process.
    persisted_queries_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    # automatic (Apollo's APQ), safelist (only the operations listed in the safelist file
    # run: a persisted query manifest or a JSON list of texts) or off.
    persisted_queries: Literal["automatic", "safelist", "off"] = "automatic"
    persisted_queries_safelist: Path | None = None
    # Requests per client address and window on /graphql (0: no limit); shared by every
    # process through PostgreSQL, synchronised this often.
    rate_limit_requests: int = Field(default=600, ge=0)
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_sync_seconds: float = Field(default=0.25, gt=0)
    # Cost budget of each caller (each user; each address when not signed in): a leaky
    # bucket of this many points (0: off; else at least MAX_QUERY_COST, so that any query
    # allowed runs on a full bucket), restored at this many points a second. Shared by every
    # process through PostgreSQL, synchronised every RATE_LIMIT_SYNC_SECONDS.
    cost_budget_maximum: int = Field(default=10_000, ge=0)
    cost_restore_rate: int = Field(default=1_000, ge=1)

    # Browsers on these origins may call the API (comma-separated; empty: same origin only).
    cors_origins: Annotated[list[str], NoDecode] = []
    # Uvicorn: trust X-Forwarded-For/-Proto from these proxies; seconds to finish requests
    # in flight after SIGTERM.
    forwarded_allow_ips: str = "127.0.0.1"
    shutdown_timeout_seconds: float = Field(default=20.0, ge=0)

    # Tokens. HS256 signs with jwt_secret; RS256/EdDSA sign with the private key file and
    # publish the public key at /.well-known/jwks.json.
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_algorithm: Literal["HS256", "RS256", "EdDSA"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "gql"
    jwt_audience: str = "gql-api"
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=10)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)

    # Brute-force protection of login, shared by every process through the database.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=50, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)

    # Orders: units per line, and orders refused for want of stock per customer and window
    # (past it a refusal answers RATE_LIMITED and tells nothing of stock).
    order_line_max_quantity: int = Field(default=100, ge=1, le=1_000_000)
    order_refusals_per_customer: int = Field(default=5, ge=1)
    order_refusal_window_seconds: int = Field(default=15 * 60, ge=1)

    # Live sessions per user: a new one ends the least recently used beyond this.
    max_sessions_per_user: int = Field(default=20, ge=1)

    # Argon2id cost (RFC 9106's second recommendation by default).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Hashes computed at once per process (0: as many as the machine has cores).
    argon2_concurrency: int = Field(default=0, ge=0)

    # Live stock events (WebSocket subscriptions).
    subscription_queue_size: int = Field(default=256, ge=1)
    subscriptions_per_connection: int = Field(default=20, ge=1)
    connections_per_user: int = Field(default=10, ge=1)
    # Open WebSockets per client address and process (0: no limit).
    ws_connections_per_address: int = Field(default=50, ge=0)
    subscription_auth_check_seconds: float = Field(default=2.0, gt=0)
    stock_events_poll_seconds: float = Field(default=5.0, gt=0)
    ws_keepalive_seconds: float = Field(default=15.0, gt=0)
    graphql_ws_legacy: bool = False

    # Read by `gql create-admin` when it has to create the account (never an argument).
    admin_password: SecretStr | None = None

    # /metrics: with a token, only scrapes that send it (Authorization: Bearer); without
    # one, open in development and tests, off (404) in production.
    metrics_token: SecretStr | None = None
    # Several processes behind one port (uvicorn --workers): an empty directory, set in the
    # environment before they start, where each writes its metrics for the others' scrapes.
    prometheus_multiproc_dir: Path | None = None

    # Uploaded images: kept in the database (the default on PostgreSQL: every instance finds
    # them, no other server) or in MEDIA_DIR (the default on SQLite); bytes per upload and
    # pixels per image (decompression bombs) at most.
    media_storage: Literal["database", "directory"] | None = None
    media_dir: Path = Path("./media")
    media_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    media_max_pixels: int = Field(default=25_000_000, ge=1)

    # Expired sessions and old login failures are deleted this often (0: only `gql purge`).
    purge_interval_seconds: int = Field(default=3600, ge=0)

    @field_validator("metrics_token", "prometheus_multiproc_dir", "media_storage", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker compose passes `${METRICS_TOKEN:-}` as an empty string.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _safelist_needs_its_file(self) -> Self:
        if self.persisted_queries == "safelist" and self.persisted_queries_safelist is None:
            raise ValueError("PERSISTED_QUERIES=safelist needs PERSISTED_QUERIES_SAFELIST")
        return self

    @model_validator(mode="after")
    def _cost_budget_fits_the_costliest_query(self) -> Self:
        if 0 < self.cost_budget_maximum < self.max_query_cost:
            raise ValueError(
                "COST_BUDGET_MAXIMUM must be at least MAX_QUERY_COST (or 0: off), so that "
                "every query within the limits can run on a full budget"
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> Self:
        weak = (
            self.jwt_secret == DEVELOPMENT_JWT_SECRET
            or len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES
        )
        if self.is_production and self.jwt_algorithm == "HS256" and weak:
            raise ValueError(
                "ENV=production needs JWT_SECRET: a random value of at least "
                f"{MIN_JWT_SECRET_BYTES} bytes, not the development default"
            )
        return self

    @property
    def graphiql_enabled(self) -> bool:
        """GraphiQL is a development tool: never served in production."""
        return self.graphiql and not self.is_production

    @property
    def effective_log_format(self) -> Literal["json", "text"]:
        """The log format: LOG_FORMAT, or text in development and JSON otherwise."""
        if self.log_format is not None:
            return self.log_format
        return "text" if self.env == "development" else "json"

    @property
    def media_storage_kind(self) -> Literal["database", "directory"]:
        """Where uploaded images go: MEDIA_STORAGE, or by the database."""
        if self.media_storage is not None:
            return self.media_storage
        return "directory" if self.is_sqlite else "database"

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite."""
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        """Whether the service runs in production mode."""
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
