"""``POST /api/v1/import/{format}`` (DTDL, OPC UA NodeSet2, AAS) and the matching exports."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from semtwin.errors import InvalidInput
from semtwin.http._body import media_type, read_body
from semtwin.http._runtime import RuntimeDep
from semtwin.mappings import SourceFile

_PARAMS = [
    {"name": "name", "in": "query", "schema": {"type": "string"},
     "description": "the source file's name (kept in the provenance)"},
    {"name": "model", "in": "query", "schema": {"type": "string"},
     "description": "DTDL: the IRI of the model the interfaces become (default: their "
                    "common DTMI prefix)"},
    {"name": "version", "in": "query", "schema": {"type": "string"},
     "description": "the model version (default: from the source, or its checksum)"},
    {"name": "activate", "in": "query", "schema": {"type": "boolean"},
     "description": "activate the imported model after its impact check"},
]


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _model(request: Request, what: str) -> str:
    model = request.query_params.get("model")
    if not model:
        raise InvalidInput(f"give ?model= ({what}) and optionally ?version=")
    return model


def _flag(value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidInput(f"{value!r} is not a boolean (true or false)")


async def _files(request: Request) -> list[SourceFile]:
    essence, _ = media_type(request)
    if essence == "multipart/form-data":
        form = await request.form()
        files = []
        for _key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append(SourceFile(value.filename or "upload", await value.read()))
        if not files:
            raise InvalidInput("the form holds no file")
        return files
    body = await read_body(request)
    if not body:
        raise InvalidInput("the body is empty: send the source document")
    return [SourceFile(request.query_params.get("name", "body"), body)]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Standards"])

    @router.post("/import/{fmt}", summary="Import DTDL, OPC UA NodeSet2 or AAS documents",
                 response_class=Response, openapi_extra={"parameters": _PARAMS})
    async def import_documents(fmt: str, request: Request, runtime: RuntimeDep) -> Response:
        files = await _files(request)
        params = request.query_params
        activate = _flag(params.get("activate"))
        result = await runtime.lookup_pool.run(lambda: runtime.imports.run(
            fmt, files, model_iri=params.get("model"), version=params.get("version"),
            activate=activate, actor=request.headers.get("x-actor"),
            request_id=getattr(request.state, "request_id", None)))
        return _json(result, 201)

    @router.get("/export/dtdl", summary="A DTDL model's interfaces (JSON array)",
                response_class=Response)
    async def export_dtdl(request: Request, runtime: RuntimeDep) -> Response:
        iri = _model(request, "the model IRI")
        docs = await runtime.lookup_pool.run(lambda: runtime.imports.export_dtdl_models(
            iri, request.query_params.get("version")))
        return _json(docs)

    @router.get("/export/dtdl/twins", summary="Twins typed by DTDL interfaces and their "
                "relationships, as ADT bulk-import NDJSON", response_class=Response)
    async def export_adt(request: Request, runtime: RuntimeDep) -> Response:
        model = request.query_params.get("model")
        text = await runtime.lookup_pool.run(lambda: runtime.imports.export_adt(model))
        return Response(text, media_type="application/x-ndjson")

    @router.get("/export/opcua", summary="An imported OPC UA model as NodeSet2 XML",
                response_class=Response)
    async def export_opcua(request: Request, runtime: RuntimeDep) -> Response:
        model = _model(request, "the NodeSet's model URI")
        xml = await runtime.lookup_pool.run(lambda: runtime.imports.export_opcua(model))
        return Response(xml, media_type="application/xml")

    @router.get("/export/aas", summary="Imported AAS shells, submodels and concept "
                "descriptions as an AAS V3.0 JSON environment", response_class=Response)
    async def export_aas(request: Request, runtime: RuntimeDep) -> Response:
        graph = request.query_params.get("import")
        env = await runtime.lookup_pool.run(lambda: runtime.imports.export_aas(graph))
        return _json(env)

    return router
