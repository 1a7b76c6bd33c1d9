"""GraphiQL in a real headless Chromium: log in, query, subscribe, see a live event."""

import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import Database
from tests.conftest import LiveServer, execute
from tests.factories import PASSWORD, gid, make_product, signed_in
from tests.web.browser import page_problems, screenshot_path

ADJUST = (
    "mutation($id: ID!) { adjustStock(productId: $id, delta: 5, reason: RESTOCK) { __typename } }"
)


async def _set_editor(page: Any, container: str, text: str) -> None:
    """Replace the text of one of GraphiQL's CodeMirror editors."""
    await page.evaluate(
        "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)",
        [f"{container} .CodeMirror", text],
    )


async def _run(page: Any, query: str) -> None:
    await _set_editor(page, ".graphiql-query-editor", query)
    # GraphiQL takes an edit into its state after a debounce; it then stores the query.
    await page.wait_for_function(
        "(query) => localStorage.getItem('graphiql:query') === query", arg=query
    )
    await page.click(".graphiql-execute-button")


async def _result(page: Any, contains: str) -> dict[str, Any]:
    """The result pane's JSON, once it contains `contains`."""
    read = "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    try:
        await page.wait_for_function(
            f"() => ({read})().includes({json.dumps(contains)})", timeout=15_000
        )
    except Exception as error:
        shown = await page.evaluate(read)
        raise AssertionError(
            f"no {contains!r} in the result pane: {shown!r} {page.problems}"
        ) from error
    result: dict[str, Any] = json.loads(await page.evaluate(read))
    return result


async def test_graphiql_logs_in_queries_and_shows_a_live_event(
    browser_page: Any,
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
) -> None:
    page = browser_page
    # given: a staff account and a product
    staff = await signed_in(client, db, "staff@example.com", "staff")
    product = await make_product(session, "LAMP", name="Desk lamp", stock=3, images=1)
    # when: the IDE opens (our page, not the CDN one)
    response = await page.goto(f"{live_server.http_url}/graphql")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    await page.wait_for_selector(".graphiql-execute-button")
    # log in through the mutation and use the token in the Headers pane
    await _run(
        page,
        f'mutation {{ login(input: {{email: "staff@example.com", password: "{PASSWORD}"}}) '
        "{ ... on AuthPayload { accessToken } } }",
    )
    token = (await _result(page, "accessToken"))["data"]["login"]["accessToken"]
    await _set_editor(
        page,
        ".graphiql-editor-tool .graphiql-editor:not(.hidden)",
        json.dumps({"Authorization": f"Bearer {token}"}),
    )
    # a products query with a guarded field: the header reached the server
    await _run(page, "{ products { edges { node { name stock images { url } } } } }")
    products = await _result(page, "Desk lamp")
    assert products["data"]["products"]["edges"][0]["node"]["stock"] == 3
    # a subscription over the WebSocket, with the same token in connection_init
    await _run(page, "subscription { stockChanged { delta quantityAfter product { sku } } }")
    await page.wait_for_timeout(500)
    changed = await execute(client, ADJUST, {"id": gid("Product", product.id)}, staff)
    assert changed["data"]["adjustStock"]["__typename"] == "AdjustStockSuccess"
    # then: the event appears in the result pane
    event = await _result(page, "quantityAfter")
    assert event["data"]["stockChanged"] == {
        "delta": 5,
        "quantityAfter": 8,
        "product": {"sku": "LAMP"},
    }
    await page.screenshot(path=screenshot_path("graphiql-stock-event.png"))
    assert await page_problems(page) == []
