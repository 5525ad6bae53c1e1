"""Pure ASGI middleware: request ids, structured access logs and the body size limit."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from semtwin.errors import PayloadTooLarge
from semtwin.services.governance import WRITE_WARNINGS

log = logging.getLogger("semtwin.access")
errors_log = logging.getLogger("semtwin.http")


class RequestContextMiddleware:
    """Give every request an id (``X-Request-Id``, kept if the client sent a sane one), log it,
    refuse bodies over the limit with 413 before reading them, and answer an error no inner
    layer handled as a problem+json 500 (FastAPI's handlers cover its routes; this covers the
    layers in front of it)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        valid = 0 < len(given) <= 64 and given.isprintable()
        request_id = given if valid else secrets.token_hex(16)
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
                status_holder["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"], (b"x-request-id", request_id.encode()),
                    *((b"semtwin-warning", w.encode()) for w in warnings)]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                status_holder["done"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            await _too_large(send, request_id, self.max_body_bytes)
            status_holder["status"] = 413
        except Exception:
            if status_holder.get("done"):
                pass  # answered in full (FastAPI's handler sent its 500 and logged it)
            elif status_holder.get("started"):
                raise  # cut off mid-answer: the server closes the connection
            else:
                errors_log.exception("unhandled error")
                await _problem(send, 500, "Internal error", "an unexpected error occurred",
                               request_id)
                status_holder["status"] = 500
        finally:
            WRITE_WARNINGS.reset(token)
        _log(scope, status_holder["status"], started, request_id)


class BodyTooLarge(PayloadTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds the limit of {limit} bytes", max_bytes=limit)


async def _too_large(send: Send, request_id: str, limit: int) -> None:
    await _problem(send, 413, "Payload too large",
                   f"request body exceeds the limit of {limit} bytes", request_id)


async def _problem(send: Send, status: int, title: str, detail: str, request_id: str) -> None:
    """An RFC 9457 problem answer sent from here, closing the connection (the request body
    may not have been read)."""
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status,
                         "detail": detail, "request_id": request_id})
    await send({
        "type": "http.response.start", "status": status,
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
