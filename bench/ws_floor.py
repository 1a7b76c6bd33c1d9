"""The WebSocket fan-out floor: a bare ASGI app broadcasting each POSTed body to every socket."""

from typing import Any

_sockets: set[Any] = set()


async def _websocket(receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    _sockets.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        _sockets.discard(send)


async def _broadcast(receive: Any, send: Any) -> None:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    text = body.decode()
    sent = 0
    for socket_send in list(_sockets):
        try:
            await socket_send({"type": "websocket.send", "text": text})
            sent += 1
        except Exception:  # noqa: S112 (a socket closing meanwhile is not an error here)
            continue
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(sent).encode()})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """WebSocket on any path; POST /broadcast sends its body to every open socket."""
    if scope["type"] == "websocket":
        await _websocket(receive, send)
    elif scope["type"] == "http":
        if scope["path"] == "/broadcast":
            await _broadcast(receive, send)
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": str(len(_sockets)).encode()})
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
