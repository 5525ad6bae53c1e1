"""Examples for every operation of the OpenAPI document, in one table.

``SemtwinAPI.openapi`` merges them into the generated schema: a request example per body
media type, a response example for the operation's success status (added, with its real
status, where FastAPI documented only 200), and example values for key parameters.
``tests/http/test_openapi.py`` sends the twin API's request examples to a real server and
compares the documented responses with what it answers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

JSON = "application/json"
TURTLE = "text/turtle"
SPARQL_JSON = "application/sparql-results+json"

_TIME = "2026-11-25T10:00:00.000000Z"
_ETAG = "8b1f0c2d4e6a4b7c9d0e1f2a3b4c5d6e"

TWIN_REQUEST = {"$types": ["brick:Air_Handling_Unit"],
                "properties": {"rdfs:label": "AHU 1", "brick:feeds": {"@id": "urn:twin:vav-1"}}}
TWIN = {"$id": "ahu-1", "$iri": "urn:twin:ahu-1", "$types": ["brick:Air_Handling_Unit"],
        "properties": {"brick:feeds": {"@id": "urn:twin:vav-1"}, "rdfs:label": "AHU 1"},
        "$etag": _ETAG,
        "$metadata": {"lastUpdateTime": _TIME, "properties": {
            "brick:feeds": {"lastUpdateTime": _TIME}, "rdfs:label": {"lastUpdateTime": _TIME}}}}
RELATIONSHIP_REQUEST = {"$relationshipName": "brick:feeds", "$targetId": "vav-1",
                        "properties": {"rdfs:comment": "duct 3"}}
RELATIONSHIP = {"$relationshipId": "feeds-vav-1", "$sourceId": "ahu-1",
                "$relationshipName": "brick:feeds", "$targetId": "vav-1",
                "properties": {"rdfs:comment": "duct 3"}, "$etag": _ETAG}
STATE_REQUEST = {"eventId": "evt-42", "sourceTime": "2026-11-25T10:00:00Z",
                 "properties": {"https://ex.org/temperature": 21.5}}
BATCH_REQUEST = {"operations": [
    {"op": "put", "id": "room-101", "twin": {"$types": ["brick:Room"],
                                             "properties": {"rdfs:label": "Room 101"}}},
    {"op": "putRelationship", "id": "ahu-1", "relationshipId": "feeds-room-101",
     "relationship": {"$relationshipName": "brick:feeds", "$targetId": "room-101"}},
]}
_EDGE = {"from": "ahu-1", "relationshipId": "feeds-vav-1", "name": "brick:feeds",
         "to": "vav-1"}
_EVENT = {"specversion": "1.0", "id": "0f6c2b1e-5d1a-4c2e-9f7d-2b8e4a6c1d3f",
          "source": "urn:semtwin", "type": "dev.semtwin.twin.created",
          "subject": "urn:twin:ahu-1", "time": _TIME, "datacontenttype": JSON,
          "sequence": 42, "data": {"$id": "ahu-1", "$iri": "urn:twin:ahu-1"},
          "actor": "key:3f2a"}
_SELECT = {"head": {"vars": ["room", "label"]}, "results": {"bindings": [
    {"room": {"type": "uri", "value": "urn:twin:room-101"},
     "label": {"type": "literal", "value": "Room 101"}}]}}
_ROOMS = ("PREFIX brick: <https://brickschema.org/schema/Brick#>\n"
          "SELECT ?room ?label WHERE { ?room a brick:Room ; rdfs:label ?label } LIMIT 10")
_GRAPH_TURTLE = ("<urn:twin:ahu-1> a <https://brickschema.org/schema/Brick#Air_Handling_Unit> ;"
                 "\n    <http://www.w3.org/2000/01/rdf-schema#label> \"AHU 1\" .\n")
_MODEL_TURTLE = ("@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
                 "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                 "<https://example.org/plant> a owl:Ontology ; owl:versionInfo \"1.1.0\" .\n"
                 "<https://example.org/plant#Pump> a owl:Class ; rdfs:label \"Pump\" .\n")
_INTERFACE = {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:example:Pump;1",
              "@type": "Interface",
              "contents": [{"@type": "Property", "name": "speed", "schema": "double"}]}
_MODEL = {"iri": "https://example.org/plant", "version": "1.1.0", "status": "draft",
          "graph": "urn:semtwin:model:https%3A%2F%2Fexample.org%2Fplant:1.1.0", "triples": 4,
          "etag": _ETAG, "imports": [], "updated": _TIME}
_REPORT = {"conforms": False, "results": [{
    "focusNode": "urn:twin:feeds-1", "resultPath": "https://semtwin.dev/ns#target",
    "sourceShape": "https://semtwin.dev/ns#RelationshipShape",
    "sourceConstraintComponent": "http://www.w3.org/ns/shacl#MinCountConstraintComponent",
    "severity": "Violation",
    "message": "at least 1 value(s) of <https://semtwin.dev/ns#target> required, found 0"}]}

_FACT = {"s": "<urn:twin:ahu-1>", "p": "<https://brickschema.org/schema/Brick#feeds>",
         "o": "<urn:twin:vav-1>", "graph": "urn:twin:ahu-1",
         "version": "c51c67dcf546429daf6eeb0305d85005", "text": "ahu-1 feeds vav-1",
         "cite": "WyI8dXJuOnR3aW46YWh1LTE-IiwiPGh0dHBzOi8v"}

# (method, path) -> {"request": {media: example}, "response": (status, media, example),
#                    "parameters": {name: example}}
_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/sparql"): {"parameters": {"query": _ROOMS, "format": "json"},
                         "response": ("200", SPARQL_JSON, _SELECT)},
    ("post", "/sparql"): {
        "request": {"application/sparql-query": _ROOMS,
                    "application/sparql-update": "INSERT DATA { GRAPH <urn:g:notes> { "
                                                 "<urn:twin:ahu-1> <urn:p:note> \"checked\" } }",
                    "application/x-www-form-urlencoded": {"query": _ROOMS}},
        "response": ("200", SPARQL_JSON, _SELECT)},
    ("get", "/api/v1/context"): {"response": ("200", "application/ld+json", {"@context": {
        "@version": 1.1, "$iri": "@id", "$types": "@type", "properties": "@nest",
        "brick": "https://brickschema.org/schema/Brick#"}})},
    ("get", "/api/v1/twins/{twin_id}"): {"parameters": {"twin_id": "ahu-1"},
                                         "response": ("200", JSON, TWIN)},
    ("put", "/api/v1/twins/{twin_id}"): {"parameters": {"twin_id": "ahu-1"},
                                         "request": {JSON: TWIN_REQUEST},
                                         "response": ("201", JSON, TWIN)},
    ("patch", "/api/v1/twins/{twin_id}"): {
        "parameters": {"twin_id": "ahu-1", "if-match": f'"{_ETAG}"'},
        "request": {"application/json-patch+json": [
            {"op": "replace", "path": "/properties/rdfs:label", "value": "AHU one"}],
            "application/merge-patch+json": {"properties": {"rdfs:label": "AHU one",
                                                            "rdfs:comment": None}}},
        "response": ("200", JSON, TWIN)},
    ("delete", "/api/v1/twins/{twin_id}"): {"parameters": {"twin_id": "ahu-1",
                                                           "cascade": True}},
    ("post", "/api/v1/twins"): {"request": {JSON: TWIN_REQUEST},
                                "response": ("201", JSON, TWIN)},
    ("get", "/api/v1/twins"): {
        "parameters": {"type": "brick:Air_Handling_Unit", "where": "rdfs:label eq 'AHU 1'",
                       "limit": 100},
        "response": ("200", JSON, {"value": [TWIN], "nextCursor": None})},
    ("post", "/api/v1/batch"): {"request": {JSON: BATCH_REQUEST}, "response": ("200", JSON, {
        "batch": "5d0e3c1a9b7f4e2d8c6a4b2e0f1d3c5b",
        "results": [{"status": 201, "sequence": 43, "$etag": _ETAG, "body": {
            **TWIN, "$id": "room-101", "$iri": "urn:twin:room-101"}},
            {"status": 201, "sequence": 44, "$etag": _ETAG, "body": RELATIONSHIP}]})},
    ("put", "/api/v1/twins/{twin_id}/relationships/{rel_id}"): {
        "parameters": {"twin_id": "ahu-1", "rel_id": "feeds-vav-1"},
        "request": {JSON: RELATIONSHIP_REQUEST}, "response": ("201", JSON, RELATIONSHIP)},
    ("patch", "/api/v1/twins/{twin_id}/relationships/{rel_id}"): {
        "parameters": {"twin_id": "ahu-1", "rel_id": "feeds-vav-1"},
        "request": {"application/json-patch+json": [
            {"op": "replace", "path": "/$targetId", "value": "vav-2"}],
            "application/merge-patch+json": {"properties": {"rdfs:comment": "duct 4"}}},
        "response": ("200", JSON, RELATIONSHIP)},
    ("get", "/api/v1/twins/{twin_id}/relationships/{rel_id}"): {
        "parameters": {"twin_id": "ahu-1", "rel_id": "feeds-vav-1"},
        "response": ("200", JSON, RELATIONSHIP)},
    ("delete", "/api/v1/twins/{twin_id}/relationships/{rel_id}"): {
        "parameters": {"twin_id": "ahu-1", "rel_id": "feeds-vav-1"}},
    ("get", "/api/v1/twins/{twin_id}/relationships"): {
        "parameters": {"twin_id": "ahu-1", "name": "brick:feeds"},
        "response": ("200", JSON, {"value": [RELATIONSHIP], "nextCursor": None})},
    ("get", "/api/v1/twins/{twin_id}/incoming"): {
        "parameters": {"twin_id": "vav-1", "limit": 100},
        "response": ("200", JSON, {"value": [RELATIONSHIP], "nextCursor": None})},
    ("post", "/api/v1/twins/{twin_id}/state"): {
        "parameters": {"twin_id": "vav-1"}, "request": {JSON: STATE_REQUEST},
        "response": ("200", JSON, {"eventId": "evt-42", "duplicate": False,
                                   "applied": ["https://ex.org/temperature"], "stale": []})},
    ("get", "/api/v1/twins/{twin_id}/neighbors"): {
        "parameters": {"twin_id": "ahu-1", "depth": 2, "direction": "out"},
        "response": ("200", JSON, {"twins": [{"depth": 1, "twin": {
            **TWIN, "$id": "vav-1", "$iri": "urn:twin:vav-1", "$types": ["brick:VAV"]}}],
            "relationships": [_EDGE]})},
    ("get", "/api/v1/paths"): {"parameters": {"from": "ahu-1", "to": "vav-1", "maxDepth": 4},
                               "response": ("200", JSON, {"paths": [[_EDGE]]})},
    ("get", "/api/v1/events/stream"): {
        "parameters": {"after": 0},
        "response": ("200", "text/event-stream",
                     ": semtwin change feed\n\nid: 42\nevent: dev.semtwin.twin.created\n"
                     "data: {\"specversion\": \"1.0\", \"sequence\": 42, "
                     "\"subject\": \"urn:twin:ahu-1\", \"data\": {\"$id\": \"ahu-1\"}}\n\n")},
    ("get", "/api/v1/events"): {"parameters": {"after": 0, "limit": 100, "wait": 0},
                                "response": ("200", JSON, {"events": [_EVENT], "last": 42})},
    ("get", "/healthz"): {"response": ("200", JSON, {
        "status": "ok", "version": "0.1.0",
        "store": {"backend": "embedded", "persistent": True, "union_default_graph": True,
                  "triple_terms": True, "write_lock": None},
        "compaction": {"after_updates": 1000, "runs": 3},
        "workers": {"query": {"size": 4, "running": 0, "late": 0, "parked": 0},
                    "lookup": {"size": 8, "running": 0, "late": 0, "parked": 0}}})},
    ("post", "/api/v1/admin/backup"): {"parameters": {"name": "before-upgrade"},
                                       "response": ("201", JSON, {
                                           "backup": "/var/lib/semtwin/store.backups/"
                                                     "before-upgrade"})},
    ("post", "/api/v1/admin/compact"): {"response": ("200", JSON, {"seconds": 2.713})},
    ("post", "/api/v1/models"): {
        "parameters": {"iri": "https://example.org/plant", "version": "1.1.0"},
        "request": {TURTLE: _MODEL_TURTLE}, "response": ("201", JSON, {**_MODEL,
                                                                       "updated": None})},
    ("get", "/api/v1/models"): {"response": ("200", JSON, {"models": [_MODEL]})},
    ("delete", "/api/v1/models"): {"parameters": {"iri": "https://example.org/plant",
                                                  "version": "1.0.0"}},
    ("post", "/api/v1/models/batch"): {
        "request": {"application/trig": "<urn:semtwin:upload:plant> {\n" + _MODEL_TURTLE
                    + "}\n"},
        "response": ("201", JSON, {"models": [{**_MODEL, "updated": None}]})},
    ("get", "/api/v1/models/content"): {
        "parameters": {"iri": "https://example.org/plant", "version": "1.1.0"},
        "response": ("200", TURTLE, _MODEL_TURTLE)},
    ("get", "/api/v1/models/impact"): {
        "parameters": {"iri": "https://example.org/plant", "version": "1.1.0"},
        "response": ("200", JSON, {"model": _MODEL, "replaces": {**_MODEL, "version": "1.0.0",
                                                                  "status": "active"},
                                   "breaking": True, "violations": 1, "focusNodes": 1,
                                   "compatibility": {"breaking": [], "nonBreaking": []},
                                   "report": _REPORT})},
    ("post", "/api/v1/models/status"): {
        "parameters": {"iri": "https://example.org/plant", "version": "1.1.0"},
        "request": {JSON: {"status": "active", "force": False, "reason": None}},
        "response": ("200", JSON, {"model": {**_MODEL, "status": "active"}, "impact": {
            "breaking": False, "violations": 0, "focusNodes": 0}})},
    ("post", "/api/v1/validate"): {"parameters": {"with": "store"},
                                   "request": {TURTLE: _GRAPH_TURTLE},
                                   "response": ("200", JSON, _REPORT)},
    ("post", "/api/v1/import/{fmt}"): {
        "parameters": {"fmt": "dtdl", "activate": True},
        "request": {JSON: [_INTERFACE]},
        "response": ("201", JSON, {"import": "99519de9243d46bbb8eb65f71b3b3391",
                                   "format": "dtdl", "model": {
                                       **_MODEL, "iri": "dtmi:example:Pump",
                                       "version": "sha256-d40ff064a615", "status": "active"},
                                   "interfaces": 1, "triples": 16})},
    ("get", "/api/v1/export/dtdl"): {
        "extra_parameters": {"model": "dtmi:example:Pump", "version": "sha256-d40ff064a615"},
        "response": ("200", JSON, [_INTERFACE])},
    ("get", "/api/v1/export/dtdl/twins"): {"response": (
        "200", "application/x-ndjson",
        '{"Section": "Header"}\n{"fileVersion": "1.0.0", "author": "semtwin", '
        '"organization": "semtwin"}\n{"Section": "Models"}\n{"Section": "Twins"}\n'
        '{"$dtId": "pump-1", "$metadata": {"$model": "dtmi:example:Pump;1"}, "speed": 1450.0}'
        '\n{"Section": "Relationships"}\n')},
    ("get", "/api/v1/export/opcua"): {
        "extra_parameters": {"model": "http://example.org/UA/Pumps/", "version": "1.0.0"},
        "response": ("200", "application/xml",
                     "<UANodeSet xmlns=\"http://opcfoundation.org/UA/2011/03/UANodeSet.xsd\">"
                     "...</UANodeSet>")},
    ("get", "/api/v1/export/aas"): {"response": ("200", JSON, {
        "assetAdministrationShells": [{"id": "https://example.org/aas/pump-1",
                                       "modelType": "AssetAdministrationShell"}],
        "submodels": [], "conceptDescriptions": []})},
    ("get", "/api/v1/audit"): {"parameters": {"after": 0, "limit": 100, "actor": "key:3f2a"},
                               "response": ("200", JSON, {"entries": [{
                                   "sequence": 42, "time": _TIME, "type": "twin.created",
                                   "tenant": None, "door": "twins API", "actor": "key:3f2a",
                                   "requestId": "c0ffee", "subject": "urn:twin:ahu-1",
                                   "change": {"$id": "ahu-1"}}]})},
    ("get", "/api/v1/ground/resolve"): {
        "parameters": {"text": "AHU 1 supply fan", "k": 5},
        "response": ("200", JSON, {"text": "AHU 1 supply fan", "mode": "lexical", "matches": [{
            "iri": "urn:twin:ahu-1", "label": "AHU 1",
            "types": ["https://brickschema.org/schema/Brick#Air_Handling_Unit"],
            "score": 4.1, "why": ["ahu", "1"]}],
            "mentions": [{"text": "AHU 1", "start": 0, "end": 5, "iris": ["urn:twin:ahu-1"],
                          "more": 0}]})},
    ("get", "/api/v1/ground/describe"): {
        "parameters": {"iri": "urn:twin:ahu-1", "budget": 500},
        "response": ("200", JSON, {"iri": "urn:twin:ahu-1", "tokens": 15, "budget": 500,
                                   "facts": [_FACT], "truncated": 0})},
    ("post", "/api/v1/ground/query"): {
        "parameters": {"max_rows": 100, "max_tokens": 2000},
        "request": {"application/sparql-query": _ROOMS},
        "response": ("200", JSON, {"form": "SELECT", "rows": 1,
                                   "mediaType": "application/sparql-results+json; charset=utf-8",
                                   "result": "{\"head\":{\"vars\":[\"room\",\"label\"]},"
                                             "\"results\":{\"bindings\":[]}}",
                                   "truncated": False, "hints": []})},
    ("post", "/api/v1/ground/check"): {
        "request": {JSON: {"claims": [{"s": "urn:twin:ahu-1",
                                       "p": "https://brickschema.org/schema/Brick#feeds",
                                       "o": {"@id": "urn:twin:vav-1"}}]}},
        "response": ("200", JSON, {"results": [{
            "claim": {"s": "urn:twin:ahu-1", "p": "https://brickschema.org/schema/Brick#feeds",
                      "o": {"@id": "urn:twin:vav-1"}},
            "verdict": "supported", "facts": [_FACT]}]})},
    ("get", "/api/v1/ground/schema"): {
        "parameters": {"question": "which air handlers feed which zones?", "budget": 800},
        "response": ("200", JSON, {"classes": [{
            "iri": "https://brickschema.org/schema/Brick#Air_Handling_Unit",
            "labels": ["Air Handling Unit"], "superclasses": [
                "https://brickschema.org/schema/Brick#HVAC_Equipment"],
            "instances": 12, "propertiesUsed": ["https://brickschema.org/schema/Brick#feeds"],
            "constraints": [], "exampleQueries": [
                "SELECT ?x WHERE { ?x a <https://brickschema.org/schema/Brick#"
                "Air_Handling_Unit> } LIMIT 10"]}], "tokens": 90, "budget": 800,
            "truncated": 0})},
    ("get", "/api/v1/ground/cite"): {
        "parameters": {"key": "WyI8dXJuOnR3aW46YWh1LTE-IiwiPGh0dHBzOi8v"},
        "response": ("200", JSON, {"fact": {k: _FACT[k] for k in ("s", "p", "o", "graph")},
                                   "holds": True,
                                   "citedVersion": "c51c67dcf546429daf6eeb0305d85005",
                                   "currentVersion": "c51c67dcf546429daf6eeb0305d85005",
                                   "stale": False})},
}


def _graph_store(method: str, path: str) -> dict[str, Any]:
    """The Graph Store Protocol's examples: indirect (``?graph=``) and direct (a path)."""
    entry: dict[str, Any] = {"parameters": {"graph": "urn:twin:ahu-1"} if path == "/graphs"
                             else {"path": "plant/ahu-1"}}
    if method == "get":
        entry["response"] = ("200", TURTLE, _GRAPH_TURTLE)
    if method in ("put", "post"):
        entry["request"] = {TURTLE: _GRAPH_TURTLE}
    return entry


EXAMPLES: Mapping[tuple[str, str], Mapping[str, Any]] = MappingProxyType({
    **_EXAMPLES,
    **{(method, path): _graph_store(method, path)
       for method in ("get", "head", "put", "post", "delete")
       for path in ("/graphs", "/graphs/{path}")},
})


def add_examples(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the table's examples merged in, and operation ids made unique
    (FastAPI gives a route serving several methods one id)."""
    schema = copy.deepcopy(schema)
    seen: set[str] = set()
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if operation.get("operationId") in seen:
                operation["operationId"] = f"{operation['operationId']}_{method}"
            seen.add(operation.get("operationId", ""))
            examples = EXAMPLES.get((method, path))
            if examples:
                _merge(operation, examples, replaces=method == "put")
    return schema


def _merge(operation: dict[str, Any], examples: Mapping[str, Any], *, replaces: bool) -> None:
    """``replaces``: a PUT answers 201 when it creates and 200 when it replaces."""
    for name, example in examples.get("extra_parameters", {}).items():
        if not any(p["name"] == name for p in operation.get("parameters", [])):
            operation.setdefault("parameters", []).append(
                {"name": name, "in": "query", "required": name == "model",
                 "schema": {"type": "string"}, "example": example})
    for parameter in operation.get("parameters", []):
        if parameter["name"] in examples.get("parameters", {}):
            parameter["example"] = examples["parameters"][parameter["name"]]
    if "request" in examples:
        content = operation.setdefault("requestBody", {}).setdefault("content", {})
        for media, example in examples["request"].items():
            content.setdefault(media, {})["example"] = example
    if "response" in examples:
        status, media, example = examples["response"]
        responses = operation.setdefault("responses", {})
        statuses = [status, "200"] if replaces and status == "201" else [status]
        if status != "200" and not replaces and set(
                responses.get("200", {}).get("content", {})) <= {JSON}:
            responses.pop("200", None)  # FastAPI's default, where the route answers `status`
        for code in statuses:
            response = responses.setdefault(code, {"description": "Successful Response"})
            response.setdefault("content", {}).setdefault(media, {})["example"] = example
