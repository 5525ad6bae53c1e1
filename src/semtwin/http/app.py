"""Build the ASGI app for a runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from semtwin import __version__
from semtwin.http import audit, graphs, grounding, health, imports, models, sparql, twins
from semtwin.http.auth import AccessMiddleware
from semtwin.http.fastpath import SparqlFastPath, TwinFastPath
from semtwin.http.middleware import RequestContextMiddleware
from semtwin.http.problems import install_problem_handlers
from semtwin.runtime import Semtwin


def create_app(runtime: Semtwin, *, close_on_shutdown: bool = False) -> FastAPI:
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

    app = FastAPI(
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
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"],
            allow_headers=["*"],
            expose_headers=["X-Request-Id", "ETag", "Location"],
        )
    app.add_middleware(SparqlFastPath, runtime=runtime)
    app.add_middleware(TwinFastPath, runtime=runtime)
    # before the fast paths and every route: one place decides who may do what
    app.add_middleware(AccessMiddleware, runtime=runtime)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    return app
