"""Hostile text for input tests, and a way to send what httpx's JSON encoder refuses."""

import json
from typing import Any

import httpx

# NUL (PostgreSQL cannot store it), other C0 and C1 controls, DEL, and a lone surrogate
# (no UTF-8 form).
HOSTILE = {
    "nul": "\u0000",
    "bell": "\u0007",
    "escape": "\u001b",
    "delete": "\u007f",
    "c1": "\u0085",
    "surrogate": "\ud800",
}
LINE_BREAKS = {"newline": "\n", "tab": "\t", "carriage-return": "\r"}


async def execute_escaped(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Like `execute`, with the body JSON-escaped (\\uXXXX), so lone surrogates can be sent."""
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}).encode("ascii"),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
