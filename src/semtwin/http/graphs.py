"""``/graphs``: the SPARQL 1.1 Graph Store HTTP Protocol.

Indirect identification with ``?graph=IRI`` or ``?default``; direct identification for any
path below ``/graphs/`` (the graph IRI is the request URL). With neither, GET returns the
whole dataset and POST creates a new graph with a minted IRI.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from typing import IO, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from semtwin.errors import InvalidInput, NotAcceptable
from semtwin.http._body import read_body, single
from semtwin.http._runtime import runtime_of
from semtwin.negotiation import best_match
from semtwin.rdf import DefaultGraph, GraphName, NamedNode, RdfFormat
from semtwin.services.graphs import graph_name

_DOC = {
    "parameters": [
        {"name": "graph", "in": "query", "schema": {"type": "string"},
         "description": "IRI of the graph (indirect identification)"},
        {"name": "default", "in": "query", "schema": {"type": "string"},
         "description": "present (no value) to address the default graph"},
    ]
}
_DATASET_OFFERS = {"application/n-quads": RdfFormat.N_QUADS, "application/trig": RdfFormat.TRIG}


def build_router() -> APIRouter:
    router = APIRouter(tags=["Graph Store"])

    @router.api_route("/graphs", methods=["GET", "HEAD"], openapi_extra=_DOC,
                      summary="Get a graph (or the whole dataset)", response_class=Response)
    async def get_graph(request: Request) -> Response:
        graph = _indirect(request)
        if graph is None:
            return await _get_dataset(request)
        return await _get(request, graph)

    @router.put("/graphs", openapi_extra=_DOC, summary="Replace a graph",
                response_class=Response)
    async def put_graph(request: Request) -> Response:
        return await _put(request, _require(_indirect(request)))

    @router.post("/graphs", openapi_extra=_DOC, summary="Merge into a graph, or create one",
                 response_class=Response)
    async def post_graph(request: Request) -> Response:
        graph = _indirect(request)
        if graph is None:
            # The new graph's IRI is its URL under direct identification.
            iri = f"{request.base_url}graphs/{uuid.uuid4()}"
            response = await _post(request, NamedNode(iri))
            response.status_code = 201
            response.headers["Location"] = iri
            return response
        return await _post(request, graph)

    @router.delete("/graphs", openapi_extra=_DOC, summary="Delete a graph",
                   response_class=Response)
    async def delete_graph(request: Request) -> Response:
        return await _delete(request, _require(_indirect(request)))

    @router.api_route("/graphs/{path:path}", methods=["GET", "HEAD", "PUT", "POST", "DELETE"],
                      summary="A graph by direct identification (its IRI is this URL)",
                      response_class=Response)
    async def direct(request: Request, path: str) -> Response:
        try:
            graph = NamedNode(str(request.url.replace(query="", fragment="")))
        except ValueError as err:
            raise InvalidInput(f"this URL is not a valid graph IRI: {err}") from None
        handlers = {"GET": _get, "HEAD": _get, "PUT": _put, "POST": _post, "DELETE": _delete}
        return await handlers[request.method](request, graph)

    return router


def _indirect(request: Request) -> GraphName | None:
    params = list(request.query_params.multi_items())
    iri = single(params, "graph")
    is_default = any(key == "default" for key, _ in params)
    if iri is not None and is_default:
        raise InvalidInput("give either ?graph=IRI or ?default, not both")
    if is_default:
        return DefaultGraph()
    if iri is None:
        return None
    if not iri or any(c in iri for c in '<>" {}|\\^`'):
        raise InvalidInput(f"graph parameter {iri!r} is not an absolute IRI")
    try:
        return graph_name(iri)
    except ValueError as err:
        raise InvalidInput(f"graph parameter {iri!r} is not a valid IRI: {err}") from None


def _require(graph: GraphName | None) -> GraphName:
    if graph is None:
        raise InvalidInput("name the graph with ?graph=IRI or ?default")
    return graph


async def _get(request: Request, graph: GraphName) -> Response:
    runtime = runtime_of(request)
    media_type = runtime.graphs.negotiate(request.headers.get("accept"))
    spool, size, served_as = await runtime.lookup_pool.run(
        lambda: _spooled(lambda out: runtime.graphs.get(graph, media_type, out)))
    return _send_spool(request, spool, size, served_as, {"Vary": "Accept"})


_CHUNK = 1 << 20
T = TypeVar("T")


def _spooled(write: Callable[[IO[bytes]], T]) -> tuple[IO[bytes], int, T]:
    """What ``write`` writes, in a temporary file to stream from: held in memory, a dump of
    a 1M-twin store took gigabytes per request. Its size, and what ``write`` returned."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response stream)
    try:
        result = write(spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    return spool, size, result


def _send_spool(request: Request, spool: IO[bytes], size: int, media_type: str,
                headers: dict[str, str]) -> Response:
    """The spool as the body (its length known), closed once sent; HEAD: only headers."""
    headers = {**headers, "Content-Length": str(size)}
    if request.method == "HEAD":
        spool.close()
        return Response(status_code=200, media_type=media_type, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(spool.read, _CHUNK):
                yield chunk
        finally:
            spool.close()

    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


async def _get_dataset(request: Request) -> Response:
    runtime = runtime_of(request)
    chosen = best_match(list(_DATASET_OFFERS), request.headers.get("accept"))
    if chosen is None:
        raise NotAcceptable("the whole dataset is served as application/n-quads or "
                            "application/trig; name a graph for triple formats")
    fmt = _DATASET_OFFERS[chosen]
    spool, size, _ = await runtime.lookup_pool.run(
        lambda: _spooled(lambda out: runtime.store.dump(out, fmt)))
    return _send_spool(request, spool, size, chosen, {})


async def _put(request: Request, graph: GraphName) -> Response:
    runtime = runtime_of(request)
    body = await read_body(request)
    content_type = request.headers.get("content-type")
    base = _base(request, graph)
    created = await runtime.lookup_pool.run(
        lambda: runtime.graphs.put(graph, body, content_type, base,
                                   request.headers.get("x-actor"))
    )
    return Response(status_code=201 if created else 204)


async def _post(request: Request, graph: GraphName) -> Response:
    runtime = runtime_of(request)
    content_type = request.headers.get("content-type")
    base = _base(request, graph)
    if (content_type or "").lower().startswith("multipart/form-data"):
        parts = await _multipart_parts(request)
        created = await runtime.lookup_pool.run(
            lambda: runtime.graphs.post_parts(graph, parts, base,
                                              request.headers.get("x-actor"))
        )
        return Response(status_code=201 if created else 204)
    body = await read_body(request)
    created = await runtime.lookup_pool.run(
        lambda: runtime.graphs.post(graph, body, content_type, base,
                                    request.headers.get("x-actor"))
    )
    return Response(status_code=201 if created else 204)


async def _multipart_parts(request: Request) -> list[tuple[bytes, str | None, str]]:
    """Every file of a multipart/form-data body, with its media type (or its name's)."""
    from starlette.datastructures import UploadFile

    from semtwin.rdf import format_for_path

    try:
        form = await request.form()
    except Exception as err:  # the multipart parser raises several kinds
        raise InvalidInput(f"malformed multipart body: {err}") from None
    parts: list[tuple[bytes, str | None, str]] = []
    for name, value in form.multi_items():
        if not isinstance(value, UploadFile):
            continue
        media = value.content_type
        label = value.filename or name
        if not media or media == "application/octet-stream":
            media = format_for_path(label).media_type
        parts.append((await value.read(), media, f"part {label!r}"))
    if not parts:
        raise InvalidInput("the multipart body has no file parts")
    return parts


async def _delete(request: Request, graph: GraphName) -> Response:
    runtime = runtime_of(request)
    await runtime.lookup_pool.run(lambda: runtime.graphs.delete(
        graph, request.headers.get("x-actor")))
    return Response(status_code=204)


def _base(request: Request, graph: GraphName) -> str:
    if isinstance(graph, NamedNode):
        return graph.value
    return str(request.url.replace(query="", fragment=""))
