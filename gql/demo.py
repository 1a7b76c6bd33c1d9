"""Demo data for the quick start: loaded by `gql seed-demo`, idempotent."""

from decimal import Decimal

from sqlalchemy import select

from gql.auth import roles
from gql.auth.models import User
from gql.auth.service import ensure_admin
from gql.auth.sessions import AuthTools
from gql.catalog import service as catalog
from gql.catalog.models import Product
from gql.core.db import Database, new_session
from gql.media.demo_pictures import demo_picture
from gql.media.images import read_upload
from gql.media.storage import MediaStorage

# The demo's own pictures: far below any limit an operator would set.
DEMO_LIMIT = 10_000_000

# Development only: `gql seed-demo` refuses to run in production.
DEMO_ACCOUNTS = [
    ("admin@example.com", "gql-demo-admin", "admin"),
    ("staff@example.com", "gql-demo-staff", "staff"),
    ("customer@example.com", "gql-demo-customer", "customer"),
]

DEMO_PRODUCTS: list[tuple[str, str, str, str, int, int]] = [
    # sku, name, description, price, stock, images
    (
        "NB-A5-DOT",
        "Dotted notebook A5",
        "120 pages of dotted paper, lay-flat binding.",
        "12.50",
        40,
        2,
    ),
    ("NB-A4-LINE", "Lined notebook A4", "A4, 80 lined pages, recycled paper.", "9.90", 25, 1),
    ("PEN-GEL-BLK", "Gel pen, black", "0.5 mm, quick-drying ink.", "2.20", 300, 1),
    ("PEN-FNT-BLU", "Fountain pen, blue", "Steel nib, converter included.", "34.00", 12, 3),
    ("INK-BLU-50", "Bottled ink, blue 50 ml", "Water-based fountain pen ink.", "8.75", 60, 1),
    ("PCL-HB-12", "HB pencils, box of 12", "Cedar wood, pre-sharpened.", "6.40", 80, 1),
    ("ERS-WHT", "White eraser", "PVC-free, leaves no smudges.", "1.10", 150, 0),
    ("RUL-30", "Steel ruler 30 cm", "Metric and imperial scales.", "4.95", 45, 1),
    ("STK-NOTE-Y", "Sticky notes, yellow", "12 pads of 100 notes.", "5.60", 0, 1),
    ("DSK-ORG-BMB", "Bamboo desk organiser", "Five compartments.", "27.00", 8, 2),
    ("CAL-2027", "Wall calendar 2027", "Monthly pages, A3.", "14.00", 30, 2),
    ("BAG-CNV", "Canvas tote bag", "Heavy cotton, long handles.", "11.00", 5, 1),
]


async def _seed_accounts(database: Database, tools: AuthTools) -> None:
    async with new_session(database, write=True) as session:
        for email, password, role in DEMO_ACCOUNTS:
            if await session.scalar(select(User.id).where(User.email == email)) is not None:
                continue
            if role == roles.ADMIN:
                await ensure_admin(session, tools, email=email, password=password)
                continue
            user = User(email=email, hashed_password=tools.passwords.hash(password))
            session.add(user)
            await session.flush()
            await roles.give_role_by_name(session, user.id, roles.CUSTOMER)
            await roles.give_role_by_name(session, user.id, role)
        await session.commit()


async def seed_demo(database: Database, tools: AuthTools, storage: MediaStorage) -> int:
    """Insert the demo accounts and products that are missing; returns products added. Their
    pictures are drawn here and stored as uploads are."""
    await _seed_accounts(database, tools)
    added = 0
    async with new_session(database, write=True) as session:
        existing = set(await session.scalars(select(Product.sku)))
        for sku, name, description, price, stock, images in DEMO_PRODUCTS:
            if sku in existing:
                continue
            product = await catalog.create_product(
                session,
                sku=sku,
                name=name,
                description=description,
                price=Decimal(price),
                stock=stock,
            )
            for n in range(images):
                picture = read_upload(
                    demo_picture(sku, name, n),
                    max_bytes=DEMO_LIMIT,
                    max_pixels=DEMO_LIMIT,
                    field="file",
                )
                await catalog.add_uploaded_image(
                    session, storage, product.id, picture, alt_text=f"{name}, view {n + 1}"
                )
            added += 1
        await session.commit()
    return added
