"""Build the ASGI app for a runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from semtwin import __version__
from semtwin.http import audit, graphs, grounding, health, imports, models, sparql, twins
from semtwin.http.auth import AccessMiddleware
from semtwin.http.fastpath import SparqlFastPath, TwinFastPath, TwinWriteFastPath
from semtwin.http.head import head_as_get, needs_get
from semtwin.http.middleware import RequestContextMiddleware
from semtwin.http.openapi_examples import add_examples
from semtwin.http.problems import install_problem_handlers, problem_response
from semtwin.runtime import Semtwin


class SemtwinAPI(FastAPI):
    """FastAPI with semtwin's own layers in front of it, outermost: request context, CORS,
    access control and the fast paths see an HTTP request before FastAPI does (FastAPI's
    per-request telemetry check and error layers cost as much as a fast-path answer, and its
    user middleware would put CORS behind the fast paths and the access check)."""

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is not None and scope["type"] == "http":
            await self.front(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document with an example for every operation (``openapi_examples``)."""
        if self.openapi_schema is None:
            self.openapi_schema = add_examples(super().openapi())
        return self.openapi_schema

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's own handling: what the front layers call for anything they pass on
        (a HEAD without a route of its own as the GET without its body)."""
        if _encoded_slash_in_id(scope):
            await problem_response(
                400, "Invalid input", "a twin or relationship id cannot contain '/' (%2F "
                "in the path): ids are 1-256 characters without '/', '?', '#', spaces or "
                "quotes", Request(scope))(scope, receive, send)
        elif scope["method"] == "HEAD" and needs_get(self.router.routes, scope):
            await head_as_get(super().__call__, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _encoded_slash_in_id(scope: Scope) -> bool:
    """Whether a twin route's path carries ``%2F``: the server decodes it before routing, so
    ``/twins/a%2Fincoming`` would be read as the incoming relationships of twin ``a``."""
    raw = scope.get("raw_path") or b""
    return scope["path"].startswith("/api/v1/twins/") and b"%2f" in raw.lower()


def create_app(runtime: Semtwin, *, close_on_shutdown: bool = False) -> SemtwinAPI:
    from semtwin.mcp_server import build_server

    mcp = build_server(runtime)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/", stateless_http=True,
                                      json_response=True)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield
        if close_on_shutdown:
            runtime.close()

    app = SemtwinAPI(
        title="semtwin",
        version=__version__,
        description="Knowledge-graph semantic twin server: SPARQL 1.1 Protocol, Graph Store "
        "Protocol and the twin API.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(sparql.build_router())
    app.include_router(graphs.build_router())
    app.include_router(twins.build_router())
    app.include_router(health.build_router())
    app.include_router(models.build_router())
    app.include_router(imports.build_router())
    app.include_router(audit.build_router())
    app.include_router(grounding.build_router())
    # MCP over streamable HTTP, behind the same access middleware (reader role)
    app.mount("/mcp", mcp_app)
    settings = runtime.settings
    # built from the inside out; a request meets the request context, CORS, the access
    # check, the fast paths, then FastAPI. CORS comes before the access check (a browser's
    # preflight carries no credential, and a refusal must carry the CORS headers for the
    # page to read it) and before the fast paths (their answers need the headers too).
    front: ASGIApp = SparqlFastPath(app.handle, runtime=runtime)
    front = TwinFastPath(front, runtime=runtime)
    front = TwinWriteFastPath(front, runtime=runtime)
    front = AccessMiddleware(front, runtime=runtime)
    if settings.cors_origins:
        front = CORSMiddleware(
            front,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"],
            allow_headers=["*"],
            expose_headers=["X-Request-Id", "ETag", "Location", "Semtwin-Warning"],
        )
    app.front = RequestContextMiddleware(front, max_body_bytes=settings.max_body_bytes)
    return app
