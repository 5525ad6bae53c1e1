"""Pure ASGI middleware: request ids, structured access logs and the body size limit."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from semtwin.errors import PayloadTooLarge
from semtwin.services.governance import WRITE_WARNINGS

log = logging.getLogger("semtwin.access")


class RequestContextMiddleware:
    """Give every request an id (``X-Request-Id``, kept if the client sent a sane one), log it,
    and refuse bodies over the limit with 413 before reading them."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _too_large(send, request_id, self.max_body_bytes)
            _log(scope, 413, started, request_id)
            return

        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        warnings: list[str] = []
        token = WRITE_WARNINGS.set(warnings)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"], (b"x-request-id", request_id.encode()),
                    *((b"semtwin-warning", w.encode()) for w in warnings)]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            await _too_large(send, request_id, self.max_body_bytes)
            status_holder["status"] = 413
        finally:
            WRITE_WARNINGS.reset(token)
        _log(scope, status_holder["status"], started, request_id)


class BodyTooLarge(PayloadTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds the limit of {limit} bytes", max_bytes=limit)


async def _too_large(send: Send, request_id: str, limit: int) -> None:
    body = orjson.dumps({
        "type": "about:blank", "title": "Payload too large", "status": 413,
        "detail": f"request body exceeds the limit of {limit} bytes", "request_id": request_id,
    })
    await send({
        "type": "http.response.start", "status": 413,
        "headers": [(b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()), (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})


def _log(scope: Scope, status: int, started: float, request_id: str) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    log.info(
        "request",
        extra={
            "request_id": request_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "client": (scope.get("client") or ("", 0))[0],
        },
    )
