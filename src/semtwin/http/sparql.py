"""``/sparql``: the SPARQL 1.1 Protocol (query, update, service description)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.responses import Response

from semtwin.errors import Forbidden, InvalidInput, MethodNotAllowed, UnsupportedMediaType
from semtwin.http._body import (
    decode_utf8,
    form_params,
    media_type,
    read_body,
    require_utf8,
    single,
    values,
)
from semtwin.http._runtime import runtime_of
from semtwin.http.auth import principal_of
from semtwin.negotiation import best_match
from semtwin.rdf import serialize
from semtwin.security import Role
from semtwin.services.graphs import GRAPH_OFFERS
from semtwin.services.results import GRAPH_FORMATS
from semtwin.services.service_description import service_description
from semtwin.services.sparql import QueryRequest
from semtwin.store import QueryDataset, UpdateDataset

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"

_QUERY_DOC = {
    "parameters": [
        {"name": "query", "in": "query", "schema": {"type": "string"},
         "description": "SPARQL 1.1 query; without it GET returns the service description"},
        {"name": "default-graph-uri", "in": "query",
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "named-graph-uri", "in": "query",
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "format", "in": "query", "schema": {"type": "string"},
         "description": "json, xml, csv, tsv, turtle, ntriples, jsonld, rdfxml: overrides Accept"},
    ],
}
_POST_DOC = {
    "requestBody": {
        "content": {
            FORM: {"schema": {"type": "object", "properties": {
                "query": {"type": "string"}, "update": {"type": "string"},
                "default-graph-uri": {"type": "string"}, "named-graph-uri": {"type": "string"},
                "using-graph-uri": {"type": "string"},
                "using-named-graph-uri": {"type": "string"}}}},
            SPARQL_QUERY: {"schema": {"type": "string"}},
            SPARQL_UPDATE: {"schema": {"type": "string"}},
        }
    }
}


def build_router() -> APIRouter:
    router = APIRouter(tags=["SPARQL"])

    @router.get("/sparql", summary="SPARQL query (GET) or service description",
                openapi_extra=_QUERY_DOC, response_class=Response)
    async def sparql_get(request: Request) -> Response:
        params = list(request.query_params.multi_items())
        if single(params, "update") is not None:
            raise MethodNotAllowed("SPARQL updates must be sent with POST", allow="POST")
        query = single(params, "query")
        if query is None:
            return _describe(request)
        return await _run_query(request, query, params)

    @router.post("/sparql", summary="SPARQL query or update (POST)", openapi_extra=_POST_DOC,
                 response_class=Response)
    async def sparql_post(request: Request) -> Response:
        kind, ctype_params = media_type(request)
        url_params = list(request.query_params.multi_items())
        body = await read_body(request)
        if kind == FORM:
            form = form_params(body)
            params = url_params + form
            query = single(form, "query")
            update = single(form, "update")
            if query is not None and update is not None:
                raise InvalidInput("give either 'query' or 'update', not both")
            if query is not None:
                return await _run_query(request, query, params)
            if update is not None:
                return await _run_update(request, update, params)
            raise InvalidInput("the form has neither a 'query' nor an 'update' parameter")
        if kind == SPARQL_QUERY:
            require_utf8(ctype_params)
            return await _run_query(request, decode_utf8(body, "query"), url_params)
        if kind == SPARQL_UPDATE:
            require_utf8(ctype_params)
            return await _run_update(request, decode_utf8(body, "update"), url_params)
        raise UnsupportedMediaType(
            f"POST /sparql takes {FORM}, {SPARQL_QUERY} or {SPARQL_UPDATE}; "
            f"got {kind or 'no Content-Type'}"
        )

    @router.api_route("/sparql", methods=["PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def sparql_other(request: Request) -> Response:
        raise MethodNotAllowed(f"{request.method} is not a SPARQL protocol operation",
                               allow="GET, POST")

    return router


async def _run_query(request: Request, text: str, params: list[tuple[str, str]]) -> Response:
    runtime = runtime_of(request)
    if single(params, "update") is not None:
        raise InvalidInput("give either 'query' or 'update', not both")
    query_request = QueryRequest(
        text=text,
        dataset=QueryDataset(
            tuple(values(params, "default-graph-uri")), tuple(values(params, "named-graph-uri"))
        ),
        base_iri=_endpoint(request),
        accept=request.headers.get("accept"),
        format=single(params, "format"),
    )
    principal = principal_of(request.state)
    if principal is not None:
        timeout, rows = runtime.settings.limits_for(principal.role.label)
        query_request = replace(query_request, timeout=timeout, max_rows=rows)
    service = runtime.sparql
    service.check_acceptable(query_request)
    rendered = await service.execute(query_request, runtime.query_pool)
    return Response(rendered.body, media_type=rendered.media_type,
                    headers={"Vary": "Accept"})


async def _run_update(request: Request, text: str, params: list[tuple[str, str]]) -> Response:
    runtime = runtime_of(request)
    if values(params, "default-graph-uri") or values(params, "named-graph-uri"):
        raise InvalidInput("an update takes using-graph-uri/using-named-graph-uri, "
                           "not default-graph-uri/named-graph-uri")
    dataset = UpdateDataset(
        tuple(values(params, "using-graph-uri")), tuple(values(params, "using-named-graph-uri"))
    )
    principal = principal_of(request.state)
    if principal is not None and not principal.allows(Role.WRITER):
        raise Forbidden(f"a SPARQL update needs the writer role; {principal.id} has "
                        f"{principal.role.label}")
    base = _endpoint(request)
    request_id = getattr(request.state, "request_id", None)
    actor = request.headers.get("x-actor")
    await runtime.lookup_pool.run(lambda: runtime.sparql.update(
        text, dataset, base, actor=actor, request_id=request_id))
    return Response(status_code=204)


def _describe(request: Request) -> Response:
    runtime = runtime_of(request)
    offers = GRAPH_OFFERS
    chosen = best_match(offers, request.headers.get("accept")) or offers[0]
    fmt = GRAPH_FORMATS[chosen]
    triples = service_description(_endpoint(request), runtime.settings.union_default_graph)
    body = serialize(triples, format=fmt) or b""
    return Response(body, media_type=f"{fmt.media_type}; charset=utf-8",
                    headers={"Vary": "Accept"})


def _endpoint(request: Request) -> str:
    return str(request.url.replace(query="", fragment=""))
