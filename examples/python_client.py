"""A Python client of gql: log in, read a page of products, follow stock changes live,
refresh the token. It calls the API through the typed client beside it, gql_client/, which
ariadne-codegen generates from schema.graphql and operations.graphql (`make client`); that
needs httpx, pydantic and websockets (`pip install httpx pydantic websockets`).

    python examples/python_client.py --email staff@example.com --password gql-demo-staff

Prints one JSON object per step, so its output can be read by people and programs.
"""

import argparse
import asyncio
import json
from contextlib import aclosing
from typing import Any

import httpx
from gql_client import GqlClient, LoginLoginAuthPayload


def show(step: str, **details: Any) -> None:
    """One line of output per step."""
    print(json.dumps({"step": step, **details}), flush=True)


class Client(GqlClient):
    """The generated client, saying when its subscription is on its way to the server (the
    generated one calls nothing of ours between sending it and the first event)."""

    async def _send_subscribe(self, *args: Any, **kwargs: Any) -> None:
        await super()._send_subscribe(*args, **kwargs)
        show("subscribed")


async def follow_stock(client: Client, events: int) -> None:
    """Subscribe over graphql-transport-ws and print `events` stock changes."""
    received = 0
    async with aclosing(client.stock_changed()) as stream:
        async for message in stream:
            event = message.stock_changed
            show(
                "event",
                id=event.id,
                delta=event.delta,
                quantityAfter=event.quantity_after,
                reason=event.reason.value,
                product={"sku": event.product.sku, "stock": event.product.stock},
            )
            received += 1
            if received >= events:
                break


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="staff@example.com")
    parser.add_argument("--password", default="gql-demo-staff")
    parser.add_argument("--events", type=positive, default=1, help="stock changes to wait for")
    args = parser.parse_args()
    endpoint = f"{args.url}/graphql"
    async with httpx.AsyncClient(timeout=30) as http:
        client = Client(url=endpoint, http_client=http)
        login = (await client.login(email=args.email, password=args.password)).login
        if not isinstance(login, LoginLoginAuthPayload):
            raise SystemExit(f"login failed: {login.code}: {login.message}")
        show("login", user=login.user.email, expiresIn=login.expires_in)
        products = (await client.products(first=5)).products
        show(
            "products",
            totalCount=products.total_count,
            names=[edge.node.name for edge in products.edges],
        )
        # Subscriptions send the access token in connection_init, not as a header.
        live = Client(
            http_client=http,
            ws_url=endpoint.replace("http", "ws", 1),
            ws_connection_init_payload={"Authorization": f"Bearer {login.access_token}"},
        )
        await follow_stock(live, args.events)
        refreshed = (await client.refresh(refresh_token=login.refresh_token)).refresh_token
        show(
            "refreshed",
            expiresIn=refreshed.expires_in,
            newToken=refreshed.access_token != login.access_token,
        )


if __name__ == "__main__":
    asyncio.run(main())
