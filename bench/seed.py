"""The fixed data set: 10,000 products x 4 images, their opening ledger, and bench accounts."""

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from bench.config import ROOT, BenchConfig

PRODUCTS = 10_000
IMAGES_PER_PRODUCT = 4
HUGE_STOCK = 1_000_000_000
HOT_ORDER_PRODUCT = PRODUCTS  # placeOrder through gql
HOT_RAW_PRODUCT = PRODUCTS - 1  # the raw asyncpg transaction rate
EVENT_PRODUCT = PRODUCTS - 2  # adjustStock that stockChanged subscribers watch
# Orders spread over the catalog pick among these (the special products above excluded).
SPREAD_PRODUCTS = (1, PRODUCTS - 3)
CUSTOMERS = 64
PASSWORD = "bench-password-0001"
STAFF_EMAIL = "bench-staff@bench.test"
RAW_EMAIL = "bench-raw@bench.test"  # the customer of the raw SQL orders
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
ADJECTIVES = ("Red", "Blue", "Green", "Small", "Large", "Steel", "Oak", "Linen", "Glass", "Wool")
NOUNS = ("Mug", "Chair", "Lamp", "Desk", "Shelf", "Bowl", "Towel", "Vase", "Clock", "Rug")


def customer_email(n: int) -> str:
    """The email of bench customer `n` (0-based)."""
    return f"bench-customer-{n:03d}@bench.test"


def subscriber_email(n: int) -> str:
    """The email of bench subscriber `n` (0-based): a staff account with inventory:read."""
    return f"bench-sub-{n:05d}@bench.test"


def product_row(i: int) -> tuple[object, ...]:
    """Product `i` (1-based), the same on every run."""
    name = f"{ADJECTIVES[i % 10]} {NOUNS[(i // 10) % 10]} {i:05d}"
    # Distinct prices from 1.00 to 999.99, in an order unrelated to the ids.
    price = (Decimal((i * 7919) % 99_900 + 100) / 100).quantize(Decimal("0.01"))
    stock = HUGE_STOCK if i in (HOT_ORDER_PRODUCT, HOT_RAW_PRODUCT) else 50 + (i * 37) % 200
    created = BASE_TIME + timedelta(minutes=i)
    return (i, f"BENCH-{i:05d}", name, f"Bench product number {i}.", price, stock, created, created)


def image_rows(i: int) -> list[tuple[object, ...]]:
    """The four images of product `i`."""
    return [
        (
            (i - 1) * IMAGES_PER_PRODUCT + k + 1,
            i,
            f"https://img.bench.test/products/{i}/{k}.jpg",
            f"{NOUNS[(i // 10) % 10]} view {k}",
            k,
        )
        for k in range(IMAGES_PER_PRODUCT)
    ]


@dataclass(frozen=True)
class Seeded:
    """What the workloads need to know about the seeded database."""

    staff_email: str
    password: str
    customer_emails: list[str]
    subscriber_user_ids: list[int]
    raw_customer_id: int


async def recreate_database(config: BenchConfig) -> None:
    """Drop the bench database (ending its connections) and create it empty."""
    admin = await asyncpg.connect(config.dsn(database="postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{config.database}"')
    finally:
        await admin.close()


def migrate(config: BenchConfig) -> None:
    """Create the schema with the project's own `gql migrate`."""
    env = os.environ | {"DATABASE_URL": config.sqlalchemy_url(), "ENV": "development"}
    gql = ROOT / ".venv" / "bin" / "gql"
    command = [str(gql)] if gql.exists() else [sys.executable, "-m", "gql.cli"]
    done = subprocess.run(
        [*command, "migrate"], env=env, cwd=ROOT, timeout=120, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"gql migrate failed:\n{done.stdout}{done.stderr}")


async def _fill_catalog(conn: asyncpg.Connection) -> None:
    products = [product_row(i) for i in range(1, PRODUCTS + 1)]
    await conn.copy_records_to_table(
        "product",
        records=products,
        columns=["id", "sku", "name", "description", "price", "stock", "created_at", "updated_at"],
    )
    images = [row for i in range(1, PRODUCTS + 1) for row in image_rows(i)]
    await conn.copy_records_to_table(
        "product_image",
        records=images,
        columns=["id", "product_id", "url", "alt_text", "position"],
    )
    # The ledger invariant: stock equals the sum of the movements, one RESTOCK each.
    movements = [(p[0], p[0], p[5], p[5], "RESTOCK", p[6]) for p in products]
    await conn.copy_records_to_table(
        "stock_movement",
        records=movements,
        columns=["id", "product_id", "delta", "quantity_after", "reason", "created_at"],
    )


async def _floor_tables(conn: asyncpg.Connection) -> None:
    """The raw floor's tables: copies of `product` and `customer_order` with their columns,
    defaults, checks, indexes and the customer's foreign key, but none of gql's triggers (the
    floor never pays for gql's design)."""
    await conn.execute("CREATE SCHEMA floor")
    await conn.execute("CREATE TABLE floor.product (LIKE public.product INCLUDING ALL)")
    await conn.execute("INSERT INTO floor.product SELECT * FROM public.product")
    await conn.execute(
        "CREATE TABLE floor.customer_order (LIKE public.customer_order INCLUDING ALL)"
    )
    await conn.execute(
        "ALTER TABLE floor.customer_order "
        "ADD FOREIGN KEY (customer_id) REFERENCES public.app_user (id)"
    )


async def _add_users(
    conn: asyncpg.Connection, emails: list[str], password_hash: str, role: str
) -> list[int]:
    ids = await conn.fetch(
        "INSERT INTO app_user (email, hashed_password, full_name, is_active, created_at) "
        "SELECT e, $2, '', true, $3 FROM unnest($1::text[]) AS e RETURNING id",
        emails,
        password_hash,
        BASE_TIME,
    )
    user_ids = [row["id"] for row in ids]
    await conn.execute(
        "INSERT INTO user_role (user_id, role_id) "
        "SELECT u, r.id FROM unnest($1::int[]) AS u, role r WHERE r.name = ANY($2::text[])",
        user_ids,
        ["customer", role],
    )
    return user_ids


async def seed(config: BenchConfig, max_subscribers: int) -> Seeded:
    """Recreate, migrate and fill the bench database; returns the accounts made."""
    from gql.auth.passwords import PasswordHasher
    from gql.core.config import Settings

    await recreate_database(config)
    migrate(config)
    password_hash = PasswordHasher(Settings()).hash(PASSWORD)
    conn = await asyncpg.connect(config.dsn())
    try:
        async with conn.transaction():
            await _fill_catalog(conn)
            await _add_users(conn, [STAFF_EMAIL], password_hash, "staff")
            (raw_id,) = await _add_users(conn, [RAW_EMAIL], "!", "customer")
            customers = [customer_email(n) for n in range(CUSTOMERS)]
            await _add_users(conn, customers, password_hash, "customer")
            subscribers = [subscriber_email(n) for n in range(max_subscribers)]
            # Subscribers never log in (their sessions are minted): no usable password.
            subscriber_ids = await _add_users(conn, subscribers, "!", "staff")
            for table in ("product", "product_image", "stock_movement"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            await _floor_tables(conn)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return Seeded(STAFF_EMAIL, PASSWORD, customers, subscriber_ids, raw_id)


async def mint_sessions(config: BenchConfig, user_ids: list[int]) -> list[str]:
    """An access token per user, each with its own login session row (as `login` makes).

    Thousands of argon2 logins would take minutes, so subscriber sessions are written
    directly and their tokens signed with gql's own TokenCodec and settings.
    """
    from gql.auth.tokens import TokenCodec, token_digest
    from gql.core.config import Settings

    codec = TokenCodec(Settings())
    now = datetime.now(UTC)
    rows, tokens = [], []
    for user_id in user_ids:
        session_id = str(uuid.uuid4())
        access = codec.issue(user_id=user_id, session_id=session_id, token_type="access", now=now)
        refresh = codec.issue(user_id=user_id, session_id=session_id, token_type="refresh", now=now)
        rows.append(
            (
                session_id,
                user_id,
                token_digest(refresh.token),
                str(uuid.uuid4()),
                now,
                now,
                refresh.expires_at,
                "gql-bench",
                "127.0.0.1",
            )
        )
        tokens.append(access.token)
    conn = await asyncpg.connect(config.dsn())
    try:
        await conn.copy_records_to_table(
            "auth_session",
            records=rows,
            columns=[
                "id",
                "user_id",
                "refresh_token_hash",
                "family",
                "created_at",
                "last_used_at",
                "expires_at",
                "user_agent",
                "ip",
            ],
        )
    finally:
        await conn.close()
    return tokens
