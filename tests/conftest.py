"""Fixtures: a real SQLite and (when reachable) a real PostgreSQL database per test run."""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import Permission, Role, role_permission
from gql.auth.roles import PERMISSIONS, SEEDED_ROLES
from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database, new_session, utcnow
from gql.core.migrate import upgrade
from gql.main import create_app
from gql.models import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("CI", "").lower() == "true"
NODE_CLIENTS = Path(__file__).resolve().parent / "node_clients"


def _run(coroutine: Any) -> Any:
    """Run a coroutine to completion from synchronous fixture code."""
    return asyncio.run(coroutine)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_reachable() -> bool:
    """Whether the test PostgreSQL server answers."""
    try:
        _run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


def _postgres_url(database: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """PostgreSQL is there, or the run fails under CI=true."""
    if postgres_reachable():
        return True
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required under CI=true but {POSTGRES_ADMIN_URL} is unreachable")
    return False


class EmptyDatabaseFactory:
    """Creates empty databases of one backend and drops them at the end of the run."""

    def __init__(self, backend: str, tmp: Any) -> None:
        self.backend = backend
        self.tmp = tmp
        self.created: list[str] = []

    def new_url(self) -> str:
        """The URL of a new, empty database (no tables)."""
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp.mktemp('sqlite') / 'test.db'}"
        name = f"gql_test_{uuid.uuid4().hex[:12]}"
        _run(_admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return _postgres_url(name)

    def drop_all(self) -> None:
        """Drop every PostgreSQL database made here."""
        for name in self.created:
            _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, postgres_available: bool) -> str:
    """The database backend of this part of the run."""
    if request.param == "postgresql" and not postgres_available:
        pytest.skip("PostgreSQL is not reachable (set CI=true to make this an error)")
    return str(request.param)


@pytest.fixture(scope="session")
def empty_databases(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmptyDatabaseFactory]:
    """A factory of empty databases of the current backend."""
    factory = EmptyDatabaseFactory(backend, tmp_path_factory)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def database_url(empty_databases: EmptyDatabaseFactory) -> str:
    """A database migrated to head, shared by the tests of one backend."""
    url = empty_databases.new_url()
    upgrade(url)
    return url


MEDIA_DIR = Path(tempfile.gettempdir()) / f"gql-test-media-{os.getpid()}"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Test settings: cheap password hashing, no background purge, no `.env`."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "purge_interval_seconds": 0,
        "subscription_auth_check_seconds": 0.3,
        "stock_events_poll_seconds": 1.0,
        "ws_keepalive_seconds": 1.0,
        # The suite sends hundreds of requests from one address; rate-limit tests turn it on.
        "rate_limit_requests": 0,
        # Likewise the cost budget (tests/web/test_cost_budget.py turns it on).
        "cost_budget_maximum": 0,
        # Hundreds of concurrent SQLite writers queue for one lock: on a slow, shared CI
        # machine the last ones wait longer than the 5 s default (correctness is tested).
        "sqlite_busy_timeout_ms": 60_000,
        # Uploaded files of this run (directory storage), out of the working tree.
        "media_dir": MEDIA_DIR,
    }
    return Settings(**(values | overrides), _env_file=None)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Settings of the test application."""
    return make_settings(database_url)


class FakeClock:
    """An injectable clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    """The clock of the application under test."""
    return FakeClock()


@pytest.fixture
def auth_tools(settings: Settings, clock: FakeClock) -> AuthTools:
    """Hashing and token tools on the fake clock."""
    return AuthTools.from_settings(settings, clock)


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The shared engine of the current backend."""
    db = Database(settings)
    yield db
    await db.dispose()


async def _empty_tables(db: Database) -> None:
    """Every table empty, except the seeded roles and permissions (restored as migrated)."""
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with db.engine.begin() as connection:
        if db.is_sqlite:
            for name in tables:
                await connection.execute(text(f'DELETE FROM "{name}"'))
        else:
            # DELETE with triggers (and so foreign keys) off, then the ids from 1 again: a
            # quarter of TRUNCATE's time on tables this small, and it runs before every test.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            for name in tables:
                await connection.execute(text(f'DELETE FROM "{name}"'))
            sequences = await connection.scalars(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            )
            for sequence in list(sequences):
                await connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        await connection.execute(
            insert(Permission), [{"name": n, "description": d} for n, d in PERMISSIONS.items()]
        )
        for name, (description, granted) in SEEDED_ROLES.items():
            role_id = (
                await connection.execute(
                    insert(Role).values(name=name, description=description).returning(Role.id)
                )
            ).scalar_one()
            await connection.execute(
                insert(role_permission),
                [{"role_id": role_id, "permission_name": p} for p in granted],
            )


@pytest.fixture
async def db(database: Database) -> Database:
    """The shared database, emptied before the test (with the uploaded files)."""
    await _empty_tables(database)
    shutil.rmtree(MEDIA_DIR, ignore_errors=True)
    return database


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking database state (deferred: it never blocks the app)."""
    async with new_session(db, write=False) as s:
        yield s


@pytest.fixture
def app(db: Database, settings: Settings, auth_tools: AuthTools) -> Any:
    """The application under test, on the test database."""
    return create_app(settings, database=db, auth=auth_tools)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the application in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def general_client(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the application with compiled catalog reads off: every operation runs
    through the general executor (tests of what happens inside a resolver)."""
    app = create_app(
        settings.model_copy(update={"compiled_reads": False}), database=db, auth=auth_tools
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


class StatementCounter:
    """Counts the SQL statements the engine sends (transaction control excluded)."""

    IGNORED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(self.IGNORED):
            self.statements.append(statement)

    def driver_statement(self, statement: str) -> None:
        """Count a statement run on the driver."""
        self(None, None, statement)

    @property
    def count(self) -> int:
        """How many statements were seen since the last reset."""
        return len(self.statements)

    def reset(self) -> None:
        """Forget what was counted."""
        self.statements.clear()


@pytest.fixture
def statements(db: Database) -> Iterator[StatementCounter]:
    """A statement counter attached to the test engine."""
    counter = StatementCounter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
    # Some PostgreSQL reads run on the driver, past SQLAlchemy's events.
    db.driver_listeners.append(counter.driver_statement)
    yield counter
    db.driver_listeners.remove(counter.driver_statement)
    event.remove(db.engine.sync_engine, "before_cursor_execute", counter)


async def execute(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a GraphQL operation and return the decoded body (the HTTP status must be 200)."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """An answer without its `extensions.cost` (every answer reports its cost; most tests
    compare the rest)."""
    extensions = body.get("extensions")
    if not isinstance(extensions, dict) or set(extensions) != {"cost"}:
        return body
    return {key: value for key, value in body.items() if key != "extensions"}


class LiveServer:
    """A uvicorn server on a real 127.0.0.1 socket, running in the test's event loop."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serve until stopped; returns once the socket listens."""
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("uvicorn did not start")

    @property
    def port(self) -> int:
        """The port the server bound."""
        port: int = self.server.servers[0].sockets[0].getsockname()[1]
        return port

    @property
    def http_url(self) -> str:
        """Base URL for HTTP."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """URL of the GraphQL WebSocket endpoint."""
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def wait_for_subscribers(self, count: int, timeout: float = 10) -> None:
        """Return once `count` stockChanged subscriptions are live on the server."""
        async with asyncio.timeout(timeout):
            while len(self.app.state.hub.subscribers) < count:
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Shut the server down."""
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=10)


@pytest.fixture
async def live_server(app: Any) -> AsyncIterator[LiveServer]:
    """The application served on a real socket."""
    server = LiveServer(app)
    await server.start()
    yield server
    await server.stop()


ServerFactory = Callable[..., Any]


@pytest.fixture
async def server_with(
    db: Database, database_url: str, auth_tools: AuthTools
) -> AsyncIterator[ServerFactory]:
    """Start live servers whose settings differ from the tests' defaults."""
    servers: list[LiveServer] = []

    async def start(**overrides: Any) -> LiveServer:
        app = create_app(make_settings(database_url, **overrides), database=db, auth=auth_tools)
        server = LiveServer(app)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


def _installed_version(package: str) -> str | None:
    manifest = NODE_CLIENTS / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/node_clients with its npm packages installed from the lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node and npm are needed for the tests that run npm clients")
    manifest = json.loads((NODE_CLIENTS / "package.json").read_text())
    wanted: dict[str, str] = manifest["dependencies"]
    if any(_installed_version(name) != version for name, version in wanted.items()):
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_CLIENTS, check=True, timeout=300
        )
    return NODE_CLIENTS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked postgres_only run only in the PostgreSQL half of the run."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("backend") == "sqlite"
        (dropped if on_sqlite and item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
