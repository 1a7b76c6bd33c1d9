"""A Python client of gql: log in, read a page of products, follow stock changes live,
refresh the token. Needs httpx and websockets (`pip install httpx websockets`).

    python examples/python_client.py --email staff@example.com --password gql-demo-staff

Prints one JSON object per step, so its output can be read by people and programs.
"""

import argparse
import asyncio
import json
from typing import Any

import httpx
from websockets.asyncio.client import connect

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    __typename
    ... on AuthPayload { accessToken refreshToken expiresIn user { email } }
    ... on UserError { code message }
  }
}"""
PRODUCTS = """
query Products($first: Int!) {
  products(first: $first) {
    totalCount
    edges { node { id name price inStock } }
    pageInfo { hasNextPage endCursor }
  }
}"""
STOCK_CHANGED = """
subscription StockChanged {
  stockChanged { id delta quantityAfter reason product { sku stock } }
}"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken expiresIn }
}"""


def show(step: str, **details: Any) -> None:
    """One line of output per step."""
    print(json.dumps({"step": step, **details}), flush=True)


async def graphql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """POST one operation; raise on request-level errors."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    data: dict[str, Any] = body["data"]
    return data


async def follow_stock(url: str, token: str, events: int) -> None:
    """Subscribe over graphql-transport-ws and print `events` stock changes."""
    async with connect(
        url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        while json.loads(await ws.recv())["type"] != "connection_ack":
            pass
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": STOCK_CHANGED}})
        )
        show("subscribed")
        received = 0
        while received < events:
            message = json.loads(await ws.recv())
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                received += 1
                show("event", **message["payload"]["data"]["stockChanged"])
            elif message["type"] in ("error", "complete"):
                raise RuntimeError(message)
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="staff@example.com")
    parser.add_argument("--password", default="gql-demo-staff")
    parser.add_argument("--events", type=int, default=1, help="stock changes to wait for")
    args = parser.parse_args()
    async with httpx.AsyncClient(base_url=args.url, timeout=30) as http:
        login = (await graphql(http, LOGIN, {"email": args.email, "password": args.password}))[
            "login"
        ]
        if login["__typename"] != "AuthPayload":
            raise SystemExit(f"login failed: {login}")
        show("login", user=login["user"]["email"], expiresIn=login["expiresIn"])
        products = (await graphql(http, PRODUCTS, {"first": 5}))["products"]
        show(
            "products",
            totalCount=products["totalCount"],
            names=[e["node"]["name"] for e in products["edges"]],
        )
        await follow_stock(args.url, login["accessToken"], args.events)
        refreshed = (await graphql(http, REFRESH, {"token": login["refreshToken"]}))["refreshToken"]
        show(
            "refreshed",
            expiresIn=refreshed["expiresIn"],
            newToken=refreshed["accessToken"] != login["accessToken"],
        )


if __name__ == "__main__":
    asyncio.run(main())
