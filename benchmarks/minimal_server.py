"""The single-process ceiling for light queries and for twin creates: the least a Python
server over an embedded pyoxigraph store can do per request.

A raw ASGI app on uvicorn (uvloop, httptools). ``GET ?query=`` asks pyoxigraph and returns its
own SPARQL JSON serialization: no routing, no access check, no content negotiation, no
deadline, no row cap, no logging. ``PUT /api/v1/twins/{id}`` with the twin benchmark's JSON
body writes what a create must at least write, in one update: the twin's triples in its
graph, an ETag, one journal entry (the event as one literal), on the condition that the twin
does not exist yet (not read back: the benchmark's ids are new); no validation, no
per-property times, no idempotency, no relationship checks. Everything runs on the event
loop (a heavy request blocks the others), so the benchmarks time it on light queries and
small creates only. It is a yardstick for what the Python HTTP stack and the engine cost
together, not a server to use.

With ``layout`` as third argument a create writes instead what semtwin's pipeline writes for
it on an embedded store (``_commit_direct``), in the same form: one transaction of inserts
(``Store.extend``) of the event (sequence number and JSON record), the ETag, update time and
per-property times, and the twin's graph (for a new twin there is nothing to remove, and
semtwin then writes quads, not an update); still with no planning, validation or framework.
Its rate bounds what a create can reach with semtwin's store layout, whatever semtwin's own
code costs.

    python -m benchmarks.minimal_server STORE_DIR PORT [layout]
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pyoxigraph
import uvicorn

_PREFIXES = {"brick:": "https://brickschema.org/schema/Brick#",
             "rdfs:": "http://www.w3.org/2000/01/rdf-schema#"}
_ST = "https://semtwin.dev/ns#"


def _iri(name: str) -> str:
    for prefix, namespace in _PREFIXES.items():
        if name.startswith(prefix):
            return f"<{namespace}{name[len(prefix):]}>"
    return f"<{name}>"


def _term(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value))  # a JSON string is a valid SPARQL string literal here


def create_update(twin_id: str, twin: dict[str, Any], etag: str, seq: int) -> str:
    """The one update of a minimal create (the twin benchmark's bodies only)."""
    iri = f"<urn:twin:{twin_id}>"
    triples = [f"{iri} a {_iri(t)} ." for t in twin.get("$types", [])]
    triples += [f"{iri} {_iri(k)} {_term(v)} ." for k, v in twin.get("properties", {}).items()]
    event = json.dumps({"type": "twin.created", "subject": iri[1:-1], "twin": twin,
                        "time": datetime.now(UTC).isoformat()})
    return (f"INSERT {{ GRAPH {iri} {{ {' '.join(triples)} }} "
            f"GRAPH <urn:semtwin:meta> {{ {iri} <{_ST}etag> \"{etag}\" }} "
            f"GRAPH <urn:semtwin:journal> {{ <urn:semtwin:event:{seq}> <{_ST}event> "
            f"{json.dumps(event)} }} }} WHERE {{ FILTER NOT EXISTS {{ "
            f"GRAPH <urn:semtwin:meta> {{ {iri} <{_ST}etag> ?etag }} }} }}")


_XSD = "http://www.w3.org/2001/XMLSchema#"


def layout_quads(twin_id: str, twin: dict[str, Any], etag: str, seq: int
                 ) -> list[pyoxigraph.Quad]:
    """The quads semtwin's in-process commit inserts for a create of this twin (as of
    session 15: ``pipeline._data_quads``, one transaction of inserts, the stored journal head
    only moved every 1,024 events)."""
    iri = pyoxigraph.NamedNode(f"urn:twin:{twin_id}")
    statements = [(pyoxigraph.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                   pyoxigraph.NamedNode(_iri(t)[1:-1])) for t in twin.get("$types", [])]
    statements += [(pyoxigraph.NamedNode(_iri(k)[1:-1]), _literal(v))
                   for k, v in twin.get("properties", {}).items()]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    times = {k: now for k in twin.get("properties", {})}
    quads = [pyoxigraph.Quad(iri, p, o, iri) for p, o in statements]
    changes = {"remove": "", "add": "".join(f"{q} .\n" for q in quads),
               "clear": [iri.value], "create": [], "drop": [], "etag": etag, "forget": [],
               "times": times}
    record = json.dumps({"id": str(uuid.uuid4()), "type": "twin.created",
                         "subject": iri.value, "time": now,
                         "data": {"$id": twin_id, "$iri": iri.value, "twin": twin},
                         "changes": changes, "request": uuid.uuid4().hex})
    event, journal = pyoxigraph.NamedNode(f"urn:semtwin:event:{seq}"), _JOURNAL
    meta = pyoxigraph.NamedNode("urn:semtwin:meta")
    return [pyoxigraph.Quad(event, _SEQ, pyoxigraph.Literal(str(seq), datatype=_INTEGER),
                            journal),
            pyoxigraph.Quad(event, pyoxigraph.NamedNode(f"{_ST}record"),
                            pyoxigraph.Literal(record), journal),
            pyoxigraph.Quad(iri, pyoxigraph.NamedNode(f"{_ST}etag"), pyoxigraph.Literal(etag),
                            meta),
            pyoxigraph.Quad(iri, pyoxigraph.NamedNode(f"{_ST}updated"),
                            pyoxigraph.Literal(now, datatype=pyoxigraph.NamedNode(
                                f"{_XSD}dateTime")), meta),
            pyoxigraph.Quad(iri, pyoxigraph.NamedNode(f"{_ST}propertyTimes"),
                            pyoxigraph.Literal(json.dumps(times)), meta),
            *quads]


def _literal(value: Any) -> pyoxigraph.Literal:
    if isinstance(value, bool | int | float):
        return pyoxigraph.Literal(value)
    return pyoxigraph.Literal(str(value))


_JOURNAL = pyoxigraph.NamedNode("urn:semtwin:journal")
_SEQ = pyoxigraph.NamedNode(f"{_ST}seq")
_INTEGER = pyoxigraph.NamedNode(f"{_XSD}integer")


def _journal_head(store: pyoxigraph.Store) -> int:
    """The store's last journal event (semtwin's layout: the stored head, then the events
    after it); 0 for a store without a journal."""
    heads = [int(q.object.value) for q in store.quads_for_pattern(_JOURNAL, _SEQ, None, _JOURNAL)]
    head = max(heads, default=0)
    while any(True for _ in store.quads_for_pattern(
            pyoxigraph.NamedNode(f"urn:semtwin:event:{head + 1}"), _SEQ, None, _JOURNAL)):
        head += 1
    return head


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def build_app(store: pyoxigraph.Store, layout: bool = False) -> Any:
    # this app's own sequence counter (a benchmark yardstick, one process)
    journal = [_journal_head(store) if layout else 0]

    async def create(scope: dict[str, Any], receive: Any, send: Any) -> None:
        twin_id = scope["path"].rsplit("/", 1)[-1]
        status, headers, body = 201, [(b"content-type", b"application/json")], b""
        try:
            twin = json.loads(await _body(receive))
            etag = uuid.uuid4().hex
            journal[0] += 1
            if layout:
                store.extend(layout_quads(twin_id, twin, etag, journal[0]))
            else:
                store.update(create_update(twin_id, twin, etag, journal[0]))
            headers.append((b"etag", f'"{etag}"'.encode()))
            body = json.dumps({"$id": twin_id, **twin, "$etag": etag}).encode()
        except (ValueError, SyntaxError, AttributeError, OSError) as err:
            status, body = 400, str(err).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "PUT":
            await create(scope, receive, send)
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        status, media_type, body = 200, b"application/sparql-results+json", b""
        try:
            result = store.query(params.get("query", ""), use_default_graph_as_union=True)
            if isinstance(result, pyoxigraph.QueryTriples):
                media_type = b"application/n-triples"
                body = result.serialize(format=pyoxigraph.RdfFormat.N_TRIPLES) or b""
            else:
                body = result.serialize(format=pyoxigraph.QueryResultsFormat.JSON) or b""
        except (SyntaxError, ValueError, OSError) as err:
            status, media_type, body = 400, b"text/plain", str(err).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", media_type),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    store_dir, port = sys.argv[1], int(sys.argv[2])
    layout = sys.argv[3:] == ["layout"]
    uvicorn.run(build_app(pyoxigraph.Store(store_dir), layout), host="127.0.0.1", port=port,
                log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
