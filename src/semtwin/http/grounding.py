"""``/api/v1/ground/``: grounded context for agents (resolve, describe, cite)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from semtwin.errors import InvalidInput
from semtwin.http._body import decode_utf8
from semtwin.http._runtime import RuntimeDep


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/ground", tags=["Grounding"])

    @router.get("/resolve", summary="Free text to ranked entities, with the words that "
                "name them", response_class=Response)
    async def resolve(runtime: RuntimeDep, text: str,
                      k: Annotated[int, Query(ge=1, le=100)] = 10,
                      mode: Annotated[str, Query(pattern="^(auto|lexical|semantic|hybrid)$",
                                                 description="lexical (BM25), semantic "
                                                 "(embeddings), hybrid, or auto")] = "auto",
                      ) -> Response:
        return _json(await runtime.lookup_pool.run(
            lambda: runtime.grounding.resolve(text, k, mode)))

    @router.get("/describe", summary="An entity's facts within a token budget, each with "
                "a citation key", response_class=Response)
    async def describe(runtime: RuntimeDep, iri: str,
                       budget: Annotated[int, Query(ge=10, le=100_000)] = 500,
                       format: str = "json") -> Response:
        if format not in ("json", "text", "turtle"):
            raise InvalidInput("format is json, text or turtle")
        return _json(await runtime.lookup_pool.run(
            lambda: runtime.grounding.describe(iri, budget, format)))

    @router.post("/query", summary="Read-only SPARQL for agents: row and token caps, repair "
                 "hints", response_class=Response)
    async def agent_query(runtime: RuntimeDep, request: Request,
                          max_rows: Annotated[int, Query(ge=1, le=10_000)] = 100,
                          max_tokens: Annotated[int, Query(ge=10, le=100_000)] = 2000
                          ) -> Response:
        text = decode_utf8(await request.body(), "the query")
        return _json(await runtime.query_pool.run(
            lambda: runtime.agent_query.run(text, max_rows, max_tokens)))

    @router.post("/check", summary="Claims against the graph and its shapes: supported, "
                 "contradicted or unknown, with the deciding facts", response_class=Response)
    async def check(runtime: RuntimeDep, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as err:
            raise InvalidInput(f"the body is not JSON: {err}") from None
        claims = body.get("claims") if isinstance(body, dict) else body
        return _json(await runtime.lookup_pool.run(lambda: runtime.claims.check(claims)))

    @router.get("/schema", summary="The classes relevant to a question (or given): "
                "hierarchy, instance counts, properties used, shape constraints, example "
                "queries, within a token budget", response_class=Response)
    async def schema(runtime: RuntimeDep, classes: str | None = None,
                     question: str | None = None,
                     budget: Annotated[int, Query(ge=50, le=100_000)] = 800) -> Response:
        chosen = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
        return _json(await runtime.lookup_pool.run(
            lambda: runtime.schema.summary(chosen, question, budget)))

    @router.get("/cite", summary="A citation key back to its fact: does it still hold, in "
                "which graph and version", response_class=Response)
    async def cite(runtime: RuntimeDep, key: str) -> Response:
        return _json(await runtime.lookup_pool.run(lambda: runtime.grounding.cite(key)))

    return router
