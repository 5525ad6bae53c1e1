"""A raw ASGI fast path for the hottest request: a GET /sparql query proven fast.

Such a query costs about 0.05 ms in the engine; FastAPI's routing, dependency and exception
layers cost several times that (ADR 0005). This middleware answers it directly on the event
loop and hands every other request, and any query it cannot answer, to the app unchanged.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from semtwin.errors import SemtwinError
from semtwin.http.problems import semtwin_error_response
from semtwin.http.twins import TWIN_MEDIA_TYPES, patch_twin_response, put_twin_response
from semtwin.negotiation import Negotiator
from semtwin.runtime import Semtwin
from semtwin.services.sparql import QueryRequest

_ALLOWED = {"query", "format"}
_MEMO_ENTRIES = 512
_MEMO_MAX_LENGTH = 4096


class SparqlFastPath:
    def __init__(self, app: ASGIApp, runtime: Semtwin) -> None:
        self.app = app
        self.runtime = runtime
        self._parsed: dict[bytes, tuple[str, str | None] | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] == "GET"
                and scope["path"] == "/sparql" and scope["query_string"]
                and not self._limited(scope)):
            request = self._request(scope)
            if request is not None:
                runtime = scope.get("state", {}).get("runtime") or self.runtime
                rendered = runtime.sparql.try_inline(request)
                if rendered is not None:
                    await send({
                        "type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", rendered.media_type.encode()),
                                    (b"content-length", str(len(rendered.body)).encode()),
                                    (b"vary", b"Accept")],
                    })
                    await send({"type": "http.response.body", "body": rendered.body})
                    return
        await self.app(scope, receive, send)

    def _limited(self, scope: Scope) -> bool:
        """Callers whose role has its own query limits take the normal path."""
        principal = scope.get("state", {}).get("principal")
        return principal is not None and self.runtime.settings.limits_for(
            principal.role.label) != (None, None)

    def _request(self, scope: Scope) -> QueryRequest | None:
        parsed = self._parse(scope["query_string"])
        if parsed is None:
            return None
        text, format_name = parsed
        accept = None
        host = None
        for key, value in scope["headers"]:
            if key == b"accept":
                accept = value.decode("latin-1")
            elif key == b"host":
                host = value.decode("latin-1")
        if host is None:
            return None
        # the same base IRI as the full path: the endpoint's URL
        base = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}/sparql"
        return QueryRequest(text=text, base_iri=base, accept=accept, format=format_name)

    def _parse(self, query_string: bytes) -> tuple[str, str | None] | None:
        """(query, format) of a query string this path serves; memoised (bounded) for
        short ones, since dashboards and clients repeat their queries."""
        try:
            return self._parsed[query_string]
        except KeyError:
            pass
        parsed = _parse_query_string(query_string)
        if len(query_string) <= _MEMO_MAX_LENGTH:
            if len(self._parsed) >= _MEMO_ENTRIES:
                self._parsed.clear()
            self._parsed[query_string] = parsed
        return parsed


def _parse_query_string(query_string: bytes) -> tuple[str, str | None] | None:
    try:
        params = parse_qsl(query_string.decode("ascii"), keep_blank_values=True,
                           errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    names = [name for name, _ in params]
    if not set(names) <= _ALLOWED or names.count("query") != 1 or names.count("format") > 1:
        return None
    values = dict(params)
    return values["query"], values.get("format")


_TWINS = "/api/v1/twins/"


def _twin_id(scope: Scope) -> str | None:
    """The id of a ``/api/v1/twins/{id}`` path, else None. The path is decoded, so an
    encoded '/' (``%2F``) leaves no id here, and the app refuses it with its reason."""
    path: str = scope["path"]
    if not path.startswith(_TWINS):
        return None
    twin_id = path[len(_TWINS):]
    return twin_id if twin_id and "/" not in twin_id else None


class TwinFastPath:
    """``GET /api/v1/twins/{id}`` on an in-process store, answered on the event loop: two
    store reads of about 0.05 ms each, where FastAPI and the worker hop cost ten times that.
    Anything else, and any twin it cannot serve (missing, bad id), goes to the app, which
    answers errors the usual way."""

    def __init__(self, app: ASGIApp, runtime: Semtwin) -> None:
        self.app = app
        self.runtime = runtime
        self.enabled = runtime.store.capabilities.in_process
        self._negotiator = Negotiator()

    def _wants_json(self, accept: bytes | None) -> bool:
        """Whether the route would answer plain JSON: the usual headers at once, any other
        (``application/json, text/plain, */*`` from axios, a browser's list) negotiated over
        the route's own offers."""
        if accept in (None, b"*/*", b"application/json"):
            return True
        assert accept is not None
        return self._negotiator.best_match(
            TWIN_MEDIA_TYPES, accept.decode("latin-1")) == "application/json"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        twin_id = _twin_id(scope) if scope["type"] == "http" else None
        if (self.enabled and twin_id is not None and scope["method"] == "GET"
                and not scope["query_string"]):
            accept = next((v for k, v in scope["headers"] if k == b"accept"), None)
            conditional = any(k == b"if-none-match" for k, _ in scope["headers"])
            if not conditional and self._wants_json(accept):
                try:
                    runtime = scope.get("state", {}).get("runtime") or self.runtime
                    document = runtime.twins.get(twin_id)
                except SemtwinError:
                    document = None
                if document is not None:
                    body = orjson.dumps(document.body)
                    await send({
                        "type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"etag", f'"{document.etag}"'.encode()),
                                    (b"vary", b"Accept")],
                    })
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


class TwinWriteFastPath:
    """``PUT`` and ``PATCH /api/v1/twins/{id}``, the hottest writes, answered by the same
    code as their routes (``put_twin_response``, ``patch_twin_response``) without FastAPI's
    routing, dependency and exception layers, which cost about as much interpreter time as
    the validated write itself (ADR 0012, session 13 addendum). Where the write then runs
    (the event loop or the worker pool) is the routes' choice too (``_run_write``)."""

    def __init__(self, app: ASGIApp, runtime: Semtwin) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        twin_id = _twin_id(scope) if scope["type"] == "http" else None
        if twin_id is not None and scope["method"] in ("PUT", "PATCH"):
            await self._write(scope["method"], twin_id, scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _write(self, method: str, twin_id: str, scope: Scope, receive: Receive,
                     send: Send) -> None:
        request = Request(scope, receive)
        runtime = scope.get("state", {}).get("runtime") or self.runtime
        headers = request.headers
        try:
            if method == "PUT":
                response = await put_twin_response(
                    twin_id, request, runtime, headers.get("if-match"),
                    headers.get("if-none-match"))
            else:
                response = await patch_twin_response(
                    twin_id, request, runtime, headers.get("if-match"))
        except SemtwinError as exc:
            response = semtwin_error_response(request, exc)
        await response(scope, receive, send)
