"""The storefront example in a real headless Chromium: the catalog, sign-in, orders, and
stock that changes on the page, live, without a reload."""

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog import service as catalog
from gql.catalog.models import Product
from gql.core.db import Database
from gql.media.demo_pictures import demo_picture
from gql.media.images import read_upload
from gql.media.storage import storage_for
from gql.orders.models import Order
from gql.web import storefront
from tests.conftest import LiveServer, execute
from tests.factories import PASSWORD, gid, make_product, signed_in
from tests.web.browser import page_problems, screenshot_path

ADJUST = (
    "mutation($id: ID!) { adjustStock(productId: $id, delta: 5, reason: RESTOCK) { __typename } }"
)
WAIT_MS = 15_000


async def _catalog(session: AsyncSession, live_server: LiveServer) -> Product:
    """A desk lamp (3 in stock, with an uploaded 800x600 picture), then 13 notebooks without
    images: two pages of products."""
    lamp = await make_product(session, "LAMP", name="Desk lamp", price="24.50", stock=3)
    picture = read_upload(
        demo_picture("LAMP", "Desk lamp", 0), max_bytes=10**7, max_pixels=10**7, field="file"
    )
    storage = storage_for(live_server.app.state.settings, live_server.app.state.database)
    await catalog.add_uploaded_image(session, storage, lamp.id, picture, alt_text="A lamp")
    await session.commit()
    for n in range(13):
        await make_product(session, f"NB-{n:02}", name=f"Notebook {n:02}", stock=2)
    return lamp


async def _open(page: Any, live_server: LiveServer) -> None:
    response = await page.goto(f"{live_server.http_url}/storefront/")
    assert response.status == 200
    assert response.headers["content-security-policy"] == storefront.CSP
    await page.get_by_test_id("sign-in-form").wait_for(timeout=WAIT_MS)


async def _sign_in(page: Any, email: str, password: str) -> None:
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("sign-in").click()


async def _text(locator: Any, expected: str) -> None:
    """Wait until `locator` shows exactly `expected`."""
    from playwright.async_api import expect

    await expect(locator).to_have_text(expected, timeout=WAIT_MS)


async def _wait_for_no_subscribers(live_server: LiveServer) -> None:
    async with asyncio.timeout(10):
        while live_server.app.state.hub.subscribers:
            await asyncio.sleep(0.05)


async def test_staff_signs_in_orders_and_sees_stock_change_live(
    browser_page: Any,
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
) -> None:
    from playwright.async_api import expect

    page = browser_page
    # given: a staff member (who is also a customer) and two pages of products
    staff = await signed_in(client, db, "staff@example.com", "staff")
    lamp = await _catalog(session, live_server)
    # when: the page opens, signed out
    await _open(page, live_server)
    cards = page.get_by_test_id("product-card")
    await expect(cards).to_have_count(12, timeout=WAIT_MS)
    card = page.locator(f'[data-product-id="{gid("Product", lamp.id)}"]')
    # then: the public catalog, the lamp's picture as its SMALL rendition (256 wide)
    await _text(card.get_by_test_id("product-name"), "Desk lamp")
    await _text(card.get_by_test_id("price"), "24.50")
    await _text(card.get_by_test_id("availability"), "in stock")
    await expect(card.get_by_test_id("stock-count")).to_be_hidden()
    await expect(card.get_by_test_id("order-form")).to_be_hidden()
    image = card.get_by_test_id("product-image")
    await expect(image).to_have_attribute("alt", "A lamp")
    await expect(image).to_have_js_property("complete", True, timeout=WAIT_MS)
    assert (await image.get_attribute("src") or "").endswith(".w256.png")
    assert await image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [256, 192]
    await expect(cards.nth(1).get_by_test_id("placeholder")).to_have_text("No image")
    # the next page, and back
    await page.get_by_test_id("next").click()
    await expect(cards).to_have_count(2, timeout=WAIT_MS)
    await _text(cards.nth(1).get_by_test_id("product-name"), "Notebook 12")
    await _text(page.get_by_test_id("page-number"), "Page 2")
    await expect(page.get_by_test_id("next")).to_be_disabled()
    await page.get_by_test_id("previous").click()
    await expect(cards).to_have_count(12, timeout=WAIT_MS)
    await _text(page.get_by_test_id("page-number"), "Page 1")
    await expect(page.get_by_test_id("previous")).to_be_disabled()

    # when: a wrong password, then the right one
    await _sign_in(page, "staff@example.com", "not the password")
    await expect(page.get_by_test_id("sign-in-error")).not_to_be_empty(timeout=WAIT_MS)
    await _sign_in(page, "staff@example.com", PASSWORD)
    # then: who is signed in, the stock numbers, the order forms, and a live subscription
    await _text(page.get_by_test_id("who"), "staff@example.com")
    await expect(page.get_by_test_id("roles")).to_contain_text("staff")
    await expect(page.get_by_test_id("sign-in-error")).to_be_hidden()
    await _text(card.get_by_test_id("stock"), "3")
    await expect(card.get_by_test_id("order-form")).to_be_visible()
    await live_server.wait_for_subscribers(1)
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    await page.evaluate("() => { window.__marker = 1; }")

    # when: an order for more than there is
    await card.get_by_test_id("quantity").fill("5")
    await card.get_by_test_id("order").click()
    # then: the refusal's message, and nothing changed
    message = card.get_by_test_id("order-message")
    await expect(message).to_have_class("message error", timeout=WAIT_MS)
    await expect(message).not_to_be_empty()
    await _text(card.get_by_test_id("stock"), "3")

    # when: an order for two lamps through the page
    await card.get_by_test_id("quantity").fill("2")
    await card.get_by_test_id("order").click()
    # then: the order is shown and the stock number goes down, live
    await expect(message).to_have_class("message success", timeout=WAIT_MS)
    await expect(message).to_contain_text("PLACED")
    await expect(message).to_contain_text("49.00")
    await _text(card.get_by_test_id("stock"), "1")

    # when: another client restocks the lamp
    changed = await execute(client, ADJUST, {"id": gid("Product", lamp.id)}, staff)
    assert changed["data"]["adjustStock"]["__typename"] == "AdjustStockSuccess"
    # then: the page shows it, still without a reload
    await _text(card.get_by_test_id("stock"), "6")
    assert await page.evaluate("() => window.__marker") == 1
    assert await session.scalar(select(Product.stock).where(Product.id == lamp.id)) == 6
    assert await session.scalar(select(func.count()).select_from(Order)) == 1
    await page.screenshot(path=screenshot_path("storefront.png"), full_page=True)

    # when: signing out
    await page.get_by_test_id("sign-out").click()
    # then: the public page again, and the subscription is gone
    await expect(page.get_by_test_id("sign-in-form")).to_be_visible(timeout=WAIT_MS)
    await expect(card.get_by_test_id("order-form")).to_be_hidden(timeout=WAIT_MS)
    await expect(card.get_by_test_id("stock-count")).to_be_hidden()
    await expect(page.get_by_test_id("live-status")).to_be_hidden()
    await _wait_for_no_subscribers(live_server)
    assert await page.evaluate("() => window.__marker") == 1
    assert await page_problems(page) == []


async def test_a_customer_buys_the_last_unit_and_sees_it_sold_out(
    browser_page: Any,
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
) -> None:
    from playwright.async_api import expect

    page = browser_page
    # given: a customer, and one last lamp
    await signed_in(client, db, "customer@example.com")
    lamp = await make_product(session, "LAMP", name="Desk lamp", stock=1)
    await _open(page, live_server)
    card = page.locator(f'[data-product-id="{gid("Product", lamp.id)}"]')
    await _sign_in(page, "customer@example.com", PASSWORD)
    await _text(page.get_by_test_id("who"), "customer@example.com")
    await expect(card.get_by_test_id("order-form")).to_be_visible(timeout=WAIT_MS)
    await page.evaluate("() => { window.__marker = 1; }")
    # when
    await card.get_by_test_id("order").click()
    # then: sold out on the page, without stock numbers (not the customer's to see) or a reload
    await expect(card.get_by_test_id("order-message")).to_contain_text("PLACED", timeout=WAIT_MS)
    await _text(card.get_by_test_id("availability"), "sold out")
    await expect(card.get_by_test_id("order")).to_be_disabled()
    await expect(card.get_by_test_id("stock-count")).to_be_hidden()
    await expect(page.get_by_test_id("live-status")).to_be_hidden()
    assert not live_server.app.state.hub.subscribers
    assert await page.evaluate("() => window.__marker") == 1
    assert await session.scalar(select(Product.stock).where(Product.id == lamp.id)) == 0
    assert await page_problems(page) == []
