"""``HEAD`` for every ``GET`` route (RFC 9110 section 9.3.2): the same status and headers
as the GET, no body. FastAPI registers ``HEAD`` only where a route declares it; the Graph
Store, which answers a HEAD more cheaply than its GET (no streaming of a dump), still does."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def needs_get(routes: Sequence[BaseRoute], scope: Scope) -> bool:
    """Whether a HEAD request has no route of its own but a GET route for its path."""
    as_get = {**scope, "method": "GET"}
    own = any(route.matches(scope)[0] is Match.FULL for route in routes)
    return not own and any(route.matches(as_get)[0] is Match.FULL for route in routes)


async def head_as_get(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the GET and send its start (status, headers, Content-Length) and an empty body.
    A stream (the change feed's SSE) is told the client left once its headers are out."""
    answered = False

    async def headers_only(message: Message) -> None:
        nonlocal answered
        if answered:
            raise OSError("a HEAD request takes no body")  # how a stream learns to stop
        if message["type"] == "http.response.start":
            await send(message)
        elif message["type"] == "http.response.body":
            answered = True
            await send({"type": "http.response.body", "body": b""})

    async def until_answered() -> Message:
        if answered:
            return {"type": "http.disconnect"}
        return await receive()

    await app({**scope, "method": "GET"}, until_answered, headers_only)
