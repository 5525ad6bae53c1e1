"""``/api/v1/models`` (versioned ontologies and shapes with a lifecycle) and
``/api/v1/validate`` (validate data against the active shapes without writing)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from semtwin.errors import InvalidInput, NotAcceptable
from semtwin.http._body import read_body
from semtwin.http._runtime import RuntimeDep
from semtwin.negotiation import best_match
from semtwin.rdf import RdfFormat, Triple, format_for_media_type, parse_rdf, serialize
from semtwin.services.governance import data_view
from semtwin.shacl import GraphView, MemoryGraph, OverlayView, ShapesGraph, Validator
from semtwin.shacl.report import report_json, report_turtle

_RDF_OFFERS = {"text/turtle": RdfFormat.TURTLE, "application/n-triples": RdfFormat.N_TRIPLES,
               "application/ld+json": RdfFormat.JSON_LD,
               "application/rdf+xml": RdfFormat.RDF_XML}
_IRI = {"name": "iri", "in": "query", "required": True, "schema": {"type": "string"},
        "description": "the model's IRI"}
_VERSION = {"name": "version", "in": "query", "schema": {"type": "string"},
            "description": "a version (default: the active one)"}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


def _actor(request: Request) -> str | None:
    return request.headers.get("x-actor")


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Models"])

    @router.post("/models", summary="Upload a model version (draft)", response_class=Response,
                 openapi_extra={"parameters": [{**_IRI, "required": False}, _VERSION]})
    async def upload(request: Request, runtime: RuntimeDep) -> Response:
        fmt = format_for_media_type(request.headers.get("content-type"))
        body = await read_body(request)
        params = request.query_params
        record = await runtime.lookup_pool.run(lambda: runtime.models.upload(
            body, fmt, iri=params.get("iri"), version=params.get("version"),
            actor=_actor(request), request_id=getattr(request.state, "request_id", None)))
        return _json(record.json(), 201)

    @router.post("/models/batch", summary="Upload several models at once, atomically (TriG "
                 "or N-Quads: one named graph per model)", response_class=Response)
    async def upload_many(request: Request, runtime: RuntimeDep) -> Response:
        fmt = format_for_media_type(request.headers.get("content-type"))
        body = await read_body(request)
        records = await runtime.lookup_pool.run(lambda: runtime.models.upload_many(
            body, fmt, actor=_actor(request),
            request_id=getattr(request.state, "request_id", None)))
        return _json({"models": [r.json() for r in records]}, 201)

    @router.get("/models", summary="List models and their versions", response_class=Response)
    async def list_models(request: Request, runtime: RuntimeDep) -> Response:
        iri = request.query_params.get("iri")
        records = await runtime.lookup_pool.run(lambda: runtime.models.records(iri))
        return _json({"models": [r.json() for r in records]})

    @router.get("/models/content", summary="A model version's triples",
                response_class=Response, openapi_extra={"parameters": [_IRI, _VERSION]})
    async def content(request: Request, runtime: RuntimeDep) -> Response:
        iri, version = _identify(request)
        chosen = best_match(list(_RDF_OFFERS), request.headers.get("accept"))
        if chosen is None:
            raise NotAcceptable(f"models are served as {', '.join(_RDF_OFFERS)}")

        def render() -> bytes:
            record = runtime.models.get(iri, version)
            triples = [Triple(q.subject, q.predicate, q.object)
                       for q in runtime.models.content(record)]
            return serialize(triples, format=_RDF_OFFERS[chosen]) or b""
        body = await runtime.lookup_pool.run(render)
        return Response(body, media_type=chosen, headers={"Vary": "Accept"})

    @router.get("/models/impact", summary="Dry run: what activating a version would find",
                response_class=Response, openapi_extra={"parameters": [_IRI, _VERSION]})
    async def impact(request: Request, runtime: RuntimeDep) -> Response:
        iri, version = _identify(request, version_required=True)
        assert version is not None
        found = await runtime.query_pool.run(lambda: runtime.models.impact(iri, version))
        return _json(found)

    @router.post("/models/status", summary="Move a version through its lifecycle",
                 response_class=Response, openapi_extra={"parameters": [_IRI, _VERSION]})
    async def set_status(request: Request, runtime: RuntimeDep) -> Response:
        iri, version = _identify(request, version_required=True)
        assert version is not None
        body = _object(await read_body(request))
        status, force, reason = body.get("status"), body.get("force", False), body.get("reason")
        if not isinstance(status, str) or not isinstance(force, bool) or not (
                reason is None or isinstance(reason, str)):
            raise InvalidInput('the body is {"status": "active|deprecated|decommissioned", '
                               '"force": false, "reason": "..."}')
        result = await runtime.query_pool.run(lambda: runtime.models.set_status(
            iri, version, status, force=force, reason=reason, actor=_actor(request),
            request_id=getattr(request.state, "request_id", None)))
        return _json(result)

    @router.delete("/models", summary="Delete a model version", response_class=Response,
                   openapi_extra={"parameters": [_IRI, _VERSION]})
    async def delete(request: Request, runtime: RuntimeDep) -> Response:
        iri, version = _identify(request, version_required=True)
        assert version is not None
        await runtime.lookup_pool.run(lambda: runtime.models.delete(
            iri, version, actor=_actor(request),
            request_id=getattr(request.state, "request_id", None)))
        return Response(status_code=204)

    @router.post("/validate", summary="Validate data against the active shapes, writing "
                 "nothing", response_class=Response,
                 openapi_extra={"parameters": [{
                     "name": "with", "in": "query", "schema": {"enum": ["alone", "store"]},
                     "description": "validate the data with the active models beside it "
                                    "(default) or as if added to the store"}]})
    async def validate(request: Request, runtime: RuntimeDep) -> Response:
        fmt = format_for_media_type(request.headers.get("content-type"))
        body = await read_body(request)
        mode = request.query_params.get("with", "alone")
        if mode not in {"alone", "store"}:
            raise InvalidInput("with= is 'alone' or 'store'")
        turtle = best_match(["application/json", "text/turtle"],
                            request.headers.get("accept")) == "text/turtle"

        def run() -> Response:
            data = MemoryGraph(parse_rdf(body, fmt))
            active = runtime.active_shapes.current()
            shapes = active[0] if active else ShapesGraph(MemoryGraph())
            if mode == "store":
                view: GraphView = OverlayView(data_view(runtime.store), data.triples(), ())
            else:  # the data with the active models (their class hierarchy) beside it
                view = MemoryGraph(data.triples())
                if isinstance(shapes.view, MemoryGraph):
                    for t in shapes.view.triples():
                        view.add(t.subject, t.predicate, t.object)
            validator = Validator(shapes, view, stored_form=(
                runtime.store.stored_form if mode == "store" else None))
            if mode == "store":
                report = validator.validate_nodes({
                    shape: list(dict.fromkeys(t.subject for t in data.triples()))
                    for shape in shapes.targeted})
            else:
                report = validator.validate_all()
            if turtle:
                return Response(report_turtle(report), media_type="text/turtle")
            return _json(report_json(report))
        return await runtime.query_pool.run(run)

    return router


def _identify(request: Request, version_required: bool = False) -> tuple[str, str | None]:
    iri = request.query_params.get("iri")
    version = request.query_params.get("version")
    if not iri:
        raise InvalidInput("?iri= names the model")
    if version_required and not version:
        raise InvalidInput("?version= names the model version")
    return iri, version


def _object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as err:
        raise InvalidInput(f"malformed JSON: {err}") from None
    if not isinstance(value, dict):
        raise InvalidInput("the body must be a JSON object")
    return value
