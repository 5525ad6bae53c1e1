"""The access middleware: the first thing every request meets (before the fast paths and
any route). It authenticates, applies the access policy and the rate limit, records the
principal for the routes (``request.state.principal``) and makes it the actor of writes."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from semtwin.errors import SemtwinError
from semtwin.runtime import Semtwin
from semtwin.security import Principal
from semtwin.security.auth import Authenticator, Unauthenticated
from semtwin.security.policy import required_role


class AccessMiddleware:
    def __init__(self, app: ASGIApp, runtime: Semtwin) -> None:
        self.app = app
        self.runtime = runtime
        self.auth: Authenticator = runtime.auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        needed = required_role(scope["method"], scope["path"], content_type)
        if needed is None:
            await self.app(scope, receive, send)
            return
        try:
            principal = self.auth.authenticate(
                headers.get(b"authorization", b"").decode("latin-1") or None,
                headers.get(b"x-api-key", b"").decode("latin-1") or None)
        except Unauthenticated as err:
            await _problem(send, 401, "Unauthorized", err.reason,
                           [(b"www-authenticate", b'Bearer realm="semtwin"')])
            return
        if not principal.allows(needed):
            await _problem(send, 403, "Forbidden",
                           f"{scope['method']} {scope['path']} needs the {needed.label} role; "
                           f"{principal.id} has {principal.role.label}")
            return
        if self.auth.limiter is not None:
            wait = self.auth.limiter.take(principal.id)
            if wait > 0:
                await _problem(send, 429, "Too many requests",
                               f"{principal.id} is over its rate limit",
                               [(b"retry-after", str(max(1, round(wait))).encode())])
                return
        scope.setdefault("state", {})["principal"] = principal
        if principal.tenant is not None:
            try:
                scope["state"]["runtime"] = self.runtime.tenant(principal.tenant)
            except SemtwinError as err:
                await _problem(send, err.status, err.title, err.detail)
                return
        if principal.via != "open":
            # writes are attributed to the authenticated principal, never to a header
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"x-actor"]
            scope["headers"].append((b"x-actor", principal.id.encode()))
        await self.app(scope, receive, send)


def principal_of(state: object) -> Principal | None:
    value = getattr(state, "principal", None)
    return value if isinstance(value, Principal) else None


async def _problem(send: Send, status: int, title: str, detail: str,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status,
                         "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
