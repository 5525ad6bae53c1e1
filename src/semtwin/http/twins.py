"""``/api/v1/twins`` and ``/api/v1/events``: twins as JSON with ETags, and the change feed."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from semtwin.errors import (
    Conflict,
    InvalidInput,
    NotAcceptable,
    PreconditionFailed,
    UnprocessableContent,
    UnsupportedMediaType,
)
from semtwin.http._body import media_type, read_body
from semtwin.http._runtime import RuntimeDep
from semtwin.jsontext import json_bytes, parse_json
from semtwin.negotiation import best_match
from semtwin.rdf import NamedNode, RdfFormat, Triple, parse_rdf, serialize
from semtwin.runtime import Semtwin
from semtwin.services.inline import WouldWait
from semtwin.services.pipeline import AlreadyApplied
from semtwin.services.sparql import DEFAULT_PREFIXES

_TWIN_EXAMPLE = {
    "$types": ["brick:Air_Handling_Unit"],
    "properties": {"rdfs:label": "AHU 1", "brick:feeds": {"@id": "urn:twin:vav-1"}},
}
_TWIN_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object"}, "example": _TWIN_EXAMPLE}}}}


def _json_response(body: Any, status: int = 200, etag: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    all_headers = dict(headers or {})
    if etag:
        all_headers["ETag"] = f'"{etag}"'
    return Response(json_bytes(body), status_code=status, media_type="application/json",
                    headers=all_headers)


T = TypeVar("T")

INLINE_BODY_LIMIT = 16 * 1024
"""Twin writes with bodies up to this size may run on the event loop (``_run_write``)."""


async def _run_write(runtime: Semtwin, request: Request, write: Callable[[], T], *,
                     inline: bool = True) -> T:
    """A twin write: one with a small body on the event loop when nothing would make it
    wait (``services/inline.py``: about 1 ms of interpreter time saved per write, ADR 0012),
    any other in the worker pool: at once while another write holds the lock (a large
    import: planning on the loop would be thrown away), or from the start if the inline try
    met a lock held elsewhere. ``inline=False``: always in the pool."""
    if (inline and runtime.pipeline.writes_inline and not runtime.pipeline.busy
            and len(await read_body(request)) <= INLINE_BODY_LIMIT):
        try:
            with runtime.pipeline.no_wait.section():
                return write()
        except WouldWait:
            pass
    return await runtime.lookup_pool.run(write)


_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


def _entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """The (weak, value) entity tags of an ``If-Match``/``If-None-Match`` list (RFC 9110
    section 8.8.3); None for ``*``. A bare value without quotes is read as one strong tag."""
    value = header.strip()
    if value == "*":
        return None
    tags = [(bool(m.group(1)), m.group(2)) for m in _ENTITY_TAG.finditer(value)]
    return tags or [(value.startswith("W/"), value.removeprefix("W/").strip('"'))]


async def _if_match(header: str | None, runtime: Semtwin, subject: Callable[[], NamedNode]
                    ) -> str | None:
    """The ETag a write must find (``If-Match``, RFC 9110 section 13.1.1): one strong tag as
    given; ``*`` (the resource must exist) or a list, the current ETag when it qualifies,
    which the write then checks atomically (a change meanwhile is still a 412)."""
    if header is None:
        return None
    tags = _entity_tags(header)
    strong = [value for weak, value in tags or [] if not weak]
    if tags is not None and not strong:
        raise PreconditionFailed("weak ETags cannot be used for writes")
    if len(strong) == 1:
        return strong[0]
    current = await runtime.lookup_pool.run(
        lambda: runtime.pipeline.current_etag(subject()))
    if tags is None:
        if current is None:
            raise PreconditionFailed("If-Match: * and there is none")
        return current
    return current if current in strong else strong[0]


def _not_modified(header: str | None, etag: str) -> bool:
    """Whether a GET's ``If-None-Match`` holds the current ETag (weak comparison)."""
    if header is None:
        return False
    tags = _entity_tags(header)
    return tags is None or any(value == etag for _, value in tags)


async def _json_body(request: Request) -> Any:
    kind, _ = media_type(request)
    if kind not in ("application/json", "application/ld+json"):
        raise UnsupportedMediaType(f"a twin is sent as application/json (or, for PUT, "
                                   f"text/turtle or application/n-triples), not "
                                   f"{kind or 'nothing'}")
    return parse_json(await read_body(request))


_PATCH_KINDS = {"application/json-patch+json": "json", "application/merge-patch+json": "merge"}


def _patch_kind(request: Request) -> str:
    """``json`` (RFC 6902) or ``merge`` (RFC 7396), by Content-Type; else 415."""
    essence, _ = media_type(request)
    if essence not in _PATCH_KINDS:
        raise UnsupportedMediaType(
            "PATCH takes application/json-patch+json (RFC 6902) or "
            f"application/merge-patch+json (RFC 7396), not {essence or 'nothing'}")
    return _PATCH_KINDS[essence]


def _actor(request: Request) -> tuple[str | None, str | None]:
    """Who writes (the authenticated principal; a client's ``X-Actor`` only in open mode)
    and the request id."""
    return request.headers.get("x-actor"), getattr(request.state, "request_id", None)


async def _idempotent(request: Request, runtime: Semtwin,
                      write: Callable[[str | None], Awaitable[Response]]) -> Response:
    """Honour ``Idempotency-Key``: the key is claimed in the same transaction as the change,
    so a retried request changes nothing more and gets the first (2xx) response again. A
    retry sent while the first request is still answering waits for its response; one with
    another body or query under the same key is refused (422), as the IETF draft on the
    header recommends."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await write(None)
    if not 0 < len(key) <= 255 or not key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 255 printable characters")
    scoped = f"{request.method} {request.url.path} {key}"
    digest = hashlib.sha256(request.url.query.encode() + b"\n" + await read_body(request))
    fingerprint = digest.hexdigest()[:32]
    stored = await runtime.lookup_pool.run(lambda: runtime.pipeline.replay(scoped))
    if stored is None:
        try:
            response = await write(scoped)
        except AlreadyApplied:  # a request with this key committed first, just now
            stored = await _first_response(runtime, scoped)
        else:
            if 200 <= response.status_code < 300:
                headers = {k: v for k, v in response.headers.items()
                           if k in ("etag", "location")}
                body = parse_json(bytes(response.body)) if response.body else None
                await runtime.lookup_pool.run(lambda: runtime.pipeline.store_response(
                    scoped, response.status_code, headers, body, fingerprint))
            return response
    elif stored.get("pending"):
        stored = await _first_response(runtime, scoped)
    assert stored is not None
    if stored.get("fingerprint", fingerprint) != fingerprint:
        raise UnprocessableContent(
            "this Idempotency-Key was first used with another request body or query; a "
            "retry must repeat the request exactly (use a new key for a new request)")
    body = stored.get("body")
    replayed = Response(b"" if body is None else json_bytes(body),
                        status_code=int(stored["status"]),
                        media_type=None if body is None else "application/json",
                        headers={**stored.get("headers", {}), "Idempotent-Replayed": "true"})
    return replayed


async def _first_response(runtime: Semtwin, scoped: str) -> dict[str, Any]:
    """The response of the request that claimed the key: stored just after its commit, so
    a retry racing it waits for it (up to ``_FIRST_RESPONSE_WAIT`` seconds); a response never
    stored (the process stopped in between) is answered with the event's sequence number."""
    deadline = time.monotonic() + _FIRST_RESPONSE_WAIT
    while True:
        stored = await runtime.lookup_pool.run(lambda: runtime.pipeline.replay(scoped))
        assert stored is not None  # the key is claimed
        if not stored.get("pending") or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(0.01)


_FIRST_RESPONSE_WAIT = 2.0


async def _check_position(runtime: Semtwin, after: int) -> None:
    """A consumer's position must be one this journal has reached: sequence numbers are
    gap-free and only grow, so one beyond the head comes from another store (or from before
    a restore), and waiting for the head to pass it would skip every event until then."""
    head = await runtime.lookup_pool.run(runtime.pipeline.journal_head)
    if after > head:
        raise Conflict(f"sequence {after} is beyond this journal's last event ({head}): the "
                       "store was restored or replaced; start again from a sequence number "
                       f"at most {head} (0 reads the whole feed)", last=head)


_TWIN_OFFERS = {"application/json": RdfFormat.JSON_LD, "application/ld+json": RdfFormat.JSON_LD,
                "text/turtle": RdfFormat.TURTLE, "application/n-triples": RdfFormat.N_TRIPLES}
_RDF_BODIES = {"text/turtle": RdfFormat.TURTLE, "application/n-triples": RdfFormat.N_TRIPLES}
TWIN_MEDIA_TYPES = tuple(_TWIN_OFFERS)
"""What ``GET /api/v1/twins/{id}`` serves, in order of preference (the fast path negotiates
over the same list)."""


async def put_twin_response(twin_id: str, request: Request, runtime: Semtwin,
                            if_match: str | None, if_none_match: str | None) -> Response:
    """``PUT /api/v1/twins/{id}``: the route's whole answer, shared with the write fast path."""
    kind, _ = media_type(request)
    quads = None
    body: Any = None
    if kind in _RDF_BODIES:
        raw = await read_body(request)
        iri = runtime.twins.iri(twin_id)
        quads = runtime.twins.rdf_quads(twin_id, parse_rdf(
            raw, _RDF_BODIES[kind], base_iri=iri.value, to_graph=iri))
    else:
        body = await _json_body(request)
    actor, request_id = _actor(request)

    async def write(key: str | None) -> Response:
        match = await _if_match(if_match, runtime, lambda: runtime.twins.iri(twin_id))
        document, created = await _run_write(runtime, request, lambda: runtime.twins.put(
            twin_id, body, if_match=match,
            if_none_match=(if_none_match or "").strip() == "*", actor=actor,
            request_id=request_id, idempotency_key=key, quads=quads))
        return _json_response(document.body, 201 if created else 200, document.etag)

    return await _idempotent(request, runtime, write)


async def patch_twin_response(twin_id: str, request: Request, runtime: Semtwin,
                              if_match: str | None) -> Response:
    """``PATCH /api/v1/twins/{id}``: the route's whole answer, shared with the write fast
    path."""
    kind = _patch_kind(request)
    patch = parse_json(await read_body(request))
    actor, request_id = _actor(request)

    async def write(key: str | None) -> Response:
        match = await _if_match(if_match, runtime, lambda: runtime.twins.iri(twin_id))
        document = await _run_write(runtime, request, lambda: runtime.twins.patch(
            twin_id, kind, patch, if_match=match,
            actor=actor, request_id=request_id, idempotency_key=key))
        return _json_response(document.body, 200, document.etag)

    return await _idempotent(request, runtime, write)


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Twins"])

    @router.get("/context", summary="The JSON-LD context of the twin JSON",
                response_class=Response)
    async def context(runtime: RuntimeDep) -> Response:
        return Response(orjson.dumps({"@context": runtime.twins.json_ld_context()}),
                        media_type="application/ld+json")

    @router.get("/twins/{twin_id}", summary="Get a twin (JSON, JSON-LD, Turtle or N-Triples "
                "by Accept)", response_class=Response)
    async def get_twin(twin_id: str, request: Request, runtime: RuntimeDep) -> Response:
        chosen = best_match(TWIN_MEDIA_TYPES, request.headers.get("accept"))
        if chosen is None:
            raise NotAcceptable(f"a twin is served as {', '.join(_TWIN_OFFERS)}")
        document = await runtime.lookup_pool.run(lambda: runtime.twins.get(twin_id))
        headers = {"Vary": "Accept"}
        if _not_modified(request.headers.get("if-none-match"), document.etag):
            return Response(status_code=304, headers={**headers, "ETag": f'"{document.etag}"'})
        if chosen == "application/json":
            return _json_response(document.body, etag=document.etag, headers=headers)
        if chosen == "application/ld+json":
            body = {"@context": runtime.twins.json_ld_context(), **document.body}
            response = _json_response(body, etag=document.etag, headers=headers)
            response.headers["content-type"] = "application/ld+json"
            return response
        iri = runtime.twins.iri(twin_id)

        def render() -> bytes:
            triples = [Triple(q.subject, q.predicate, q.object)
                       for q in runtime.store.quads(None, None, None, iri)]
            return serialize(triples, format=_TWIN_OFFERS[chosen],
                             prefixes=dict(DEFAULT_PREFIXES)) or b""
        body_bytes = await runtime.lookup_pool.run(render)
        return Response(body_bytes, media_type=chosen,
                        headers={**headers, "ETag": f'"{document.etag}"'})

    @router.put("/twins/{twin_id}", summary="Create or replace a twin", openapi_extra=_TWIN_BODY,
                response_class=Response)
    async def put_twin(twin_id: str, request: Request, runtime: RuntimeDep,
                       if_match: Annotated[str | None, Header()] = None,
                       if_none_match: Annotated[str | None, Header()] = None) -> Response:
        return await put_twin_response(twin_id, request, runtime, if_match, if_none_match)

    @router.patch("/twins/{twin_id}", summary="Patch a twin (JSON Patch or JSON Merge Patch)",
                  response_class=Response, openapi_extra={"requestBody": {"content": {
                      "application/json-patch+json": {"schema": {"type": "array"}, "example": [
                          {"op": "replace", "path": "/properties/rdfs:label",
                           "value": "AHU one"}]},
                      "application/merge-patch+json": {"schema": {"type": "object"}, "example": {
                          "properties": {"rdfs:label": "AHU one", "rdfs:comment": None}}}}}})
    async def patch_twin(twin_id: str, request: Request, runtime: RuntimeDep,
                         if_match: Annotated[str | None, Header()] = None) -> Response:
        return await patch_twin_response(twin_id, request, runtime, if_match)

    @router.post("/twins", summary="Create a twin (server-assigned id unless $id is given)",
                 openapi_extra=_TWIN_BODY, response_class=Response)
    async def post_twin(request: Request, runtime: RuntimeDep) -> Response:
        body = await _json_body(request)
        actor, request_id = _actor(request)

        async def write(key: str | None) -> Response:
            document = await _run_write(runtime, request, lambda: runtime.twins.create(
                body, actor=actor, request_id=request_id, idempotency_key=key))
            return _json_response(document.body, 201, document.etag,
                                  {"Location": f"/api/v1/twins/{document.body['$id']}"})

        return await _idempotent(request, runtime, write)

    @router.post("/batch", summary="Many twin and relationship operations in one "
                 "all-or-nothing transaction", response_class=Response)
    async def post_batch(request: Request, runtime: RuntimeDep) -> Response:
        body = await _json_body(request)
        actor, request_id = _actor(request)

        async def write(key: str | None) -> Response:
            result = await runtime.lookup_pool.run(lambda: runtime.batch.apply(
                body, actor=actor, request_id=request_id, idempotency_key=key))
            return _json_response(result, 200, None, {})

        return await _idempotent(request, runtime, write)

    @router.delete("/twins/{twin_id}", summary="Delete a twin (409 while it has relationships, "
                   "unless cascade=true)", status_code=204, response_class=Response)
    async def delete_twin(twin_id: str, request: Request, runtime: RuntimeDep,
                          if_match: Annotated[str | None, Header()] = None,
                          cascade: bool = False) -> Response:
        actor, request_id = _actor(request)

        async def write(key: str | None) -> Response:
            match = await _if_match(if_match, runtime, lambda: runtime.twins.iri(twin_id))

            def relationships() -> list[NamedNode]:
                return runtime.relationships.relationship_graphs(
                    runtime.twins.iri(twin_id), direction="both")

            def delete() -> None:
                runtime.twins.delete(twin_id, if_match=match, actor=actor,
                                     request_id=request_id,
                                     cascade=relationships if cascade else None,
                                     idempotency_key=key)

            await _run_write(runtime, request, delete, inline=not cascade)
            return Response(status_code=204)

        return await _idempotent(request, runtime, write)

    @router.put("/twins/{twin_id}/relationships/{rel_id}", response_class=Response,
                summary="Create or replace a relationship (its target may change)",
                openapi_extra={"requestBody": {"content": {"application/json": {"example": {
                    "$relationshipName": "brick:feeds", "$targetId": "vav-1",
                    "properties": {"rdfs:comment": "duct 3"}}}}}})
    async def put_relationship(twin_id: str, rel_id: str, request: Request,
                               runtime: RuntimeDep,
                               if_match: Annotated[str | None, Header()] = None,
                               if_none_match: Annotated[str | None, Header()] = None
                               ) -> Response:
        body = await _json_body(request)
        actor, request_id = _actor(request)

        async def write(key: str | None) -> Response:
            match = await _if_match(if_match, runtime,
                                    lambda: runtime.relationships.iri(twin_id, rel_id))
            document, created = await _run_write(
                runtime, request, lambda: runtime.relationships.put(
                    twin_id, rel_id, body, if_match=match,
                    if_none_match=(if_none_match or "").strip() == "*", actor=actor,
                    request_id=request_id, idempotency_key=key))
            return _json_response(document.body, 201 if created else 200, document.etag)

        return await _idempotent(request, runtime, write)

    @router.patch("/twins/{twin_id}/relationships/{rel_id}", response_class=Response,
                  summary="Patch a relationship (JSON Patch or Merge Patch: properties, "
                  "$targetId, $relationshipName)")
    async def patch_relationship(twin_id: str, rel_id: str, request: Request,
                                 runtime: RuntimeDep,
                                 if_match: Annotated[str | None, Header()] = None) -> Response:
        kind = _patch_kind(request)
        patch = parse_json(await read_body(request))
        actor, request_id = _actor(request)

        async def write(key: str | None) -> Response:
            match = await _if_match(if_match, runtime,
                                    lambda: runtime.relationships.iri(twin_id, rel_id))
            document = await _run_write(runtime, request, lambda: runtime.relationships.patch(
                twin_id, rel_id, kind, patch, if_match=match,
                actor=actor, request_id=request_id, idempotency_key=key))
            return _json_response(document.body, 200, document.etag)

        return await _idempotent(request, runtime, write)

    @router.get("/twins/{twin_id}/relationships/{rel_id}", response_class=Response,
                summary="Get a relationship")
    async def get_relationship(twin_id: str, rel_id: str, request: Request,
                               runtime: RuntimeDep) -> Response:
        document = await runtime.lookup_pool.run(
            lambda: runtime.relationships.get(twin_id, rel_id))
        if _not_modified(request.headers.get("if-none-match"), document.etag):
            return Response(status_code=304, headers={"ETag": f'"{document.etag}"'})
        return _json_response(document.body, etag=document.etag)

    @router.delete("/twins/{twin_id}/relationships/{rel_id}", response_class=Response,
                   status_code=204, summary="Delete a relationship")
    async def delete_relationship(twin_id: str, rel_id: str, request: Request,
                                  runtime: RuntimeDep,
                                  if_match: Annotated[str | None, Header()] = None
                                  ) -> Response:
        actor, request_id = _actor(request)

        async def write(key: str | None) -> Response:
            match = await _if_match(if_match, runtime,
                                    lambda: runtime.relationships.iri(twin_id, rel_id))
            await _run_write(runtime, request, lambda: runtime.relationships.delete(
                twin_id, rel_id, if_match=match, actor=actor,
                request_id=request_id, idempotency_key=key))
            return Response(status_code=204)

        return await _idempotent(request, runtime, write)

    @router.get("/twins/{twin_id}/relationships", response_class=Response,
                summary="Outgoing relationships (optionally by name), paged with a cursor")
    async def list_relationships(twin_id: str, runtime: RuntimeDep, name: str | None = None,
                                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                                 cursor: str | None = None) -> Response:
        page = await runtime.lookup_pool.run(lambda: runtime.relationships.page(
            twin_id, direction="out", name=name, limit=limit, cursor=cursor))
        return _json_response({"value": page.items, "nextCursor": page.next_cursor})

    @router.get("/twins/{twin_id}/incoming", response_class=Response,
                summary="Incoming relationships, paged with a cursor")
    async def incoming(twin_id: str, runtime: RuntimeDep,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       cursor: str | None = None) -> Response:
        page = await runtime.lookup_pool.run(lambda: runtime.relationships.page(
            twin_id, direction="in", limit=limit, cursor=cursor))
        return _json_response({"value": page.items, "nextCursor": page.next_cursor})

    @router.post("/twins/{twin_id}/state", response_class=Response,
                 summary="State update from a device (source time, event id)",
                 openapi_extra={"requestBody": {"content": {"application/json": {"example": {
                     "eventId": "evt-42", "sourceTime": "2026-11-25T10:00:00Z",
                     "properties": {"https://ex.org/temperature": 21.5}}}}}})
    async def post_state(twin_id: str, request: Request, runtime: RuntimeDep) -> Response:
        body = await _json_body(request)
        _, request_id = _actor(request)
        outcome = await _run_write(
            runtime, request, lambda: runtime.state.update(twin_id, body, request_id=request_id))
        return _json_response(outcome)

    @router.get("/twins", summary="List twins by type (subclasses included), label search, "
                "property filters (where=PROPERTY OP VALUE, repeatable), sort=[-]PROPERTY, "
                "keyset cursor pagination", response_class=Response)
    async def list_twins(runtime: RuntimeDep, type: str | None = None, q: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         cursor: str | None = None, iri: str | None = None,
                         where: Annotated[list[str] | None, Query()] = None,
                         sort: str | None = None) -> Response:
        if iri is not None:  # one twin by IRI, including resources loaded from files
            document = await runtime.lookup_pool.run(lambda: runtime.twins.get_by_iri(iri))
            return _json_response(document.body, etag=document.etag)
        page = await runtime.lookup_pool.run(lambda: runtime.navigation.list_twins(
            type_iri=type, q=q, limit=limit, cursor=cursor, where=where or (), sort=sort))
        return _json_response({"value": page.items, "nextCursor": page.next_cursor})

    @router.get("/twins/{twin_id}/neighbors", summary="Twins reachable through relationships",
                response_class=Response)
    async def neighbors(twin_id: str, runtime: RuntimeDep,
                        depth: Annotated[int, Query(ge=1, le=10)] = 1,
                        direction: Annotated[str, Query(pattern="^(out|in|both)$")] = "out",
                        relationship: str | None = None,
                        type: str | None = None) -> Response:
        found = await runtime.lookup_pool.run(lambda: runtime.navigation.neighbors(
            twin_id, depth=depth, direction=direction, relationship=relationship,
            type_iri=type))
        return _json_response(found)

    @router.get("/paths", summary="Shortest relationship paths between two twins",
                response_class=Response)
    async def paths(runtime: RuntimeDep, from_: Annotated[str, Query(alias="from")],
                    to: str, max_depth: Annotated[int, Query(alias="maxDepth", ge=1,
                                                             le=10)] = 5) -> Response:
        found = await runtime.lookup_pool.run(
            lambda: runtime.navigation.paths(from_, to, max_depth=max_depth))
        return _json_response({"paths": found})

    @router.get("/events/stream", summary="Change feed as Server-Sent Events",
                response_class=StreamingResponse)
    async def event_stream(request: Request, runtime: RuntimeDep,
                           after: Annotated[int | None, Query(ge=0)] = None,
                           last_event_id: Annotated[str | None, Header()] = None
                           ) -> StreamingResponse:
        """Each event is sent with ``id: <sequence>``; a client that reconnects with
        ``Last-Event-ID`` (or ``?after=``) resumes right after it."""
        start = after
        if start is None and last_event_id is not None:
            if not last_event_id.isdigit():
                raise InvalidInput("Last-Event-ID must be a sequence number")
            start = int(last_event_id)
        position = start or 0
        await _check_position(runtime, position)

        async def stream() -> AsyncIterator[bytes]:
            nonlocal position
            yield b": semtwin change feed\n\n"
            idle = 0.0
            while not await request.is_disconnected():
                found = await runtime.lookup_pool.run(
                    functools.partial(runtime.pipeline.events, position, 100))
                for event in found:
                    position = event["sequence"]
                    yield (f"id: {position}\nevent: {event['type']}\n".encode()
                           + b"data: " + json_bytes(event) + b"\n\n")
                if found:
                    idle = 0.0
                    continue
                await asyncio.sleep(0.2)
                idle += 0.2
                if idle >= 15:
                    idle = 0.0
                    yield b": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    @router.get("/events", summary="Change feed (CloudEvents), long-poll with wait=",
                response_class=Response)
    async def events(runtime: RuntimeDep,
                     after: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     wait: Annotated[float, Query(ge=0, le=60)] = 0) -> Response:
        deadline = asyncio.get_running_loop().time() + wait
        await _check_position(runtime, after)
        while True:
            found = await runtime.lookup_pool.run(
                lambda: runtime.pipeline.events(after, limit))
            if found or asyncio.get_running_loop().time() >= deadline:
                last = found[-1]["sequence"] if found else after
                return _json_response({"events": found, "last": last})
            await asyncio.sleep(0.1)

    return router
