"""Twins as JSON with ETags and the change feed, on every backend, through the real server."""

from __future__ import annotations

import concurrent.futures
import random
import time
import uuid

import httpx
import jsonpatch
import orjson
import pytest
from tests.conftest import ServerProcess

from semtwin.rdf import RdfFormat, parse

AHU = {"$types": ["brick:Air_Handling_Unit"],
       "properties": {"rdfs:label": "AHU 1", "brick:feeds": {"@id": "urn:twin:vav-1"},
                      "https://ex.org/ratedPower": {"@value": "5.5", "@type": "xsd:decimal"},
                      "https://ex.org/serial": ["A1", "B2"], "https://ex.org/zones": 3}}


@pytest.fixture
def twin_id() -> str:
    return f"ahu-{uuid.uuid4().hex[:8]}"


def _events_after(server: ServerProcess, seq: int) -> list[dict]:
    response = httpx.get(f"{server.url}/api/v1/events", params={"after": seq})
    assert response.status_code == 200
    return list(response.json()["events"])


def _head(server: ServerProcess) -> int:
    return int(httpx.get(f"{server.url}/api/v1/events",
                         params={"after": 0, "limit": 1000}).json()["last"])


def test_create_get_replace_delete(server: ServerProcess, twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    before = _head(server)
    created = httpx.put(url, json=AHU)
    assert created.status_code == 201
    etag = created.headers["etag"].strip('"')
    body = created.json()
    assert body["$id"] == twin_id
    assert body["$iri"] == f"urn:twin:{twin_id}"
    assert body["$types"] == ["brick:Air_Handling_Unit"]
    assert body["properties"]["https://ex.org/serial"] == ["A1", "B2"]
    assert body["properties"]["https://ex.org/zones"] == 3
    assert body["$etag"] == etag

    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.json() == body
    # the twin is plain RDF for analysts, right away
    ask = httpx.get(f"{server.url}/sparql", params={
        "query": f"ASK {{ <urn:twin:{twin_id}> brick:feeds <urn:twin:vav-1> }}"})
    assert ask.json()["boolean"] is True

    changed = {**AHU, "properties": {**AHU["properties"], "rdfs:label": "AHU one"}}
    replaced = httpx.put(url, json=changed, headers={"If-Match": f'"{etag}"'})
    assert replaced.status_code == 200
    assert replaced.json()["properties"]["rdfs:label"] == "AHU one"
    new_etag = replaced.headers["etag"].strip('"')
    assert new_etag != etag

    stale = httpx.delete(url, headers={"If-Match": f'"{etag}"'})
    assert stale.status_code == 412
    assert httpx.delete(url, headers={"If-Match": f'"{new_etag}"'}).status_code == 204
    assert httpx.get(url).status_code == 404
    assert httpx.delete(url).status_code == 404

    events = _events_after(server, before)
    assert [e["type"] for e in events] == ["dev.semtwin.twin.created",
                                           "dev.semtwin.twin.updated",
                                           "dev.semtwin.twin.deleted"]
    assert [e["sequence"] for e in events] == [before + 1, before + 2, before + 3]
    assert events[1]["data"]["patch"] == [
        {"op": "replace", "path": "/properties/rdfs:label", "value": "AHU one"}]
    assert all(e["specversion"] == "1.0" and e["subject"] == f"urn:twin:{twin_id}"
               for e in events)


def test_preconditions_write_nothing_and_emit_nothing(server: ServerProcess,
                                                      twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    first = httpx.put(url, json=AHU, headers={"If-None-Match": "*"})
    assert first.status_code == 201
    head = _head(server)
    again = httpx.put(url, json=AHU, headers={"If-None-Match": "*"})
    assert again.status_code == 412
    stale = httpx.put(url, json={"$types": []}, headers={"If-Match": '"not-the-etag"'})
    assert stale.status_code == 412
    assert stale.json()["etag"] == first.headers["etag"].strip('"')
    missing = httpx.put(f"{url}-nope", json=AHU, headers={"If-Match": '"x"'})
    assert missing.status_code == 404
    assert httpx.get(url).json()["properties"] == first.json()["properties"]
    assert _head(server) == head


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b'{"$types": [\n  "brick:AHU",\n}', "application/json", 400, "line 3"),
        (b'{"$types": "brick:AHU"}', "application/json", 400, "$types"),
        (b'{"properties": {"label": 1}}', "application/json", 400, "properties.label"),
        (b'{"properties": {"rdfs:label": {"a": 1}}}', "application/json", 400,
         "properties.rdfs:label"),
        (b'{"colour": "red"}', "application/json", 400, "unknown member"),
        (b"<x/>", "application/xml", 415, "application/json"),
    ],
    ids=["syntax", "types", "prefix", "value", "member", "media-type"],
)
def test_bad_twin_input(server: ServerProcess, twin_id: str, body: bytes, content_type: str,
                        status: int, needle: str) -> None:
    head = _head(server)
    response = httpx.put(f"{server.url}/api/v1/twins/{twin_id}", content=body,
                         headers={"Content-Type": content_type})
    assert response.status_code == status
    assert needle in response.json()["detail"]
    assert httpx.get(f"{server.url}/api/v1/twins/{twin_id}").status_code == 404
    assert _head(server) == head


def test_post_assigns_an_id(server: ServerProcess) -> None:
    response = httpx.post(f"{server.url}/api/v1/twins", json=AHU)
    assert response.status_code == 201
    location = response.headers["location"]
    assert httpx.get(f"{server.url}{location}").json() == response.json()


def test_json_patch_and_merge_patch(server: ServerProcess, twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    created = httpx.put(url, json=AHU)
    etag = created.headers["etag"]
    patched = httpx.patch(url, headers={"Content-Type": "application/json-patch+json",
                                        "If-Match": etag}, content=b'''[
        {"op": "replace", "path": "/properties/rdfs:label", "value": "AHU one"},
        {"op": "add", "path": "/properties/rdfs:comment", "value": "roof"},
        {"op": "remove", "path": "/properties/https:~1~1ex.org~1zones"}]''')
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["properties"]["rdfs:label"] == "AHU one"
    assert body["properties"]["rdfs:comment"] == "roof"
    assert "https://ex.org/zones" not in body["properties"]
    # the old ETag no longer works
    stale = httpx.patch(url, headers={"Content-Type": "application/merge-patch+json",
                                      "If-Match": etag}, json={"properties": {}})
    assert stale.status_code == 412
    merged = httpx.patch(url, headers={"Content-Type": "application/merge-patch+json",
                                       "If-Match": patched.headers["etag"]},
                         json={"properties": {"rdfs:comment": None, "rdfs:label": "AHU 1"},
                               "$types": ["brick:AHU"]})
    assert merged.status_code == 200
    assert merged.json()["$types"] == ["brick:AHU"]
    assert "rdfs:comment" not in merged.json()["properties"]
    assert httpx.get(url).json() == merged.json()


def test_a_failing_patch_says_which_operation_and_why(server: ServerProcess,
                                                     twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    httpx.put(url, json=AHU).raise_for_status()
    patch = [{"op": "add", "path": "/properties/rdfs:comment", "value": "x"},
             {"op": "test", "path": "/properties/rdfs:comment", "value": "y"}]
    failed = httpx.patch(url, json=patch, headers={"Content-Type": "application/json-patch+json"})
    assert failed.status_code == 422
    assert ("patch operation 1 (test at '/properties/rdfs:comment'): the value there is \"x\", "
            "not \"y\"") in failed.json()["detail"]
    missing = httpx.patch(url, json=[{"op": "remove", "path": "/properties/nope"}],
                          headers={"Content-Type": "application/json-patch+json"})
    assert missing.status_code == 422
    assert "patch operation 0 (remove at '/properties/nope')" in missing.json()["detail"]
    assert "rdfs:comment" not in httpx.get(url).json()["properties"]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json-patch+json", b'[{"op": "remove", "path": "/properties/nope"}]', 422),
        ("application/json-patch+json", b'[{"op": "test", "path": "/$types", "value": []}]',
         422),
        ("application/json-patch+json", b'{"op": "remove"}', 400),
        ("application/json-patch+json", b'[{"op": "jump", "path": "/x"}]', 400),
        ("application/merge-patch+json", b'{"properties": {"rdfs:label": {"x": 1}}}', 400),
        ("application/json", b"[]", 415),
    ],
    ids=["missing-path", "test-failed", "not-array", "bad-op", "bad-value", "media-type"],
)
def test_bad_patches_change_nothing(server: ServerProcess, twin_id: str, content_type: str,
                                    body: bytes, status: int) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    original = httpx.put(url, json=AHU).json()
    head = _head(server)
    response = httpx.patch(url, content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert httpx.get(url).json() == original
    assert _head(server) == head
    assert httpx.patch(f"{url}-missing", json={}, headers={
        "Content-Type": "application/merge-patch+json"}).status_code == 404


def test_graph_store_writes_are_journaled(server: ServerProcess) -> None:
    graph = f"http://example.org/journaled/{uuid.uuid4().hex[:8]}"
    head = _head(server)
    assert httpx.put(f"{server.url}/graphs", params={"graph": graph}, content="<a> <b> <c> .",
                     headers={"Content-Type": "text/turtle"}).status_code == 201
    assert httpx.post(f"{server.url}/graphs", params={"graph": graph}, content="<a> <b> <d> .",
                      headers={"Content-Type": "text/turtle"}).status_code == 204
    bad = httpx.post(f"{server.url}/graphs", params={"graph": graph}, content="<a> <b> .",
                     headers={"Content-Type": "text/turtle"})
    assert bad.status_code == 400
    assert httpx.delete(f"{server.url}/graphs", params={"graph": graph}).status_code == 204
    events = _events_after(server, head)
    assert [(e["type"], e["sequence"], e["data"]["triples"]) for e in events] == [
        ("dev.semtwin.graph.replaced", head + 1, 1),
        ("dev.semtwin.graph.merged", head + 2, 1),
        ("dev.semtwin.graph.deleted", head + 3, 0),
    ]
    assert {e["subject"] for e in events} == {graph}


def _twin(server: ServerProcess, twin_id: str, types: list[str]) -> None:
    response = httpx.put(f"{server.url}/api/v1/twins/{twin_id}", json={"$types": types})
    assert response.status_code == 201


def test_relationships(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:6]
    ahu, vav1, vav2 = f"ahu-{tag}", f"vav1-{tag}", f"vav2-{tag}"
    for twin_id, kind in ((ahu, "brick:AHU"), (vav1, "brick:VAV"), (vav2, "brick:VAV")):
        _twin(server, twin_id, [kind])
    base = f"{server.url}/api/v1/twins/{ahu}/relationships"
    head = _head(server)
    created = httpx.put(f"{base}/r1", json={"$relationshipName": "brick:feeds",
                                            "$targetId": vav1,
                                            "properties": {"rdfs:comment": "duct 3"}})
    assert created.status_code == 201, created.text
    assert created.json() == {"$relationshipId": "r1", "$sourceId": ahu,
                              "$relationshipName": "brick:feeds", "$targetId": vav1,
                              "properties": {"rdfs:comment": "duct 3"},
                              "$etag": created.headers["etag"].strip('"')}
    # a plain triple for SPARQL
    ask = httpx.get(f"{server.url}/sparql", params={
        "query": f"ASK {{ <urn:twin:{ahu}> brick:feeds <urn:twin:{vav1}> }}"})
    assert ask.json()["boolean"] is True
    # the target must exist
    missing = httpx.put(f"{base}/r2", json={"$relationshipName": "brick:feeds",
                                            "$targetId": f"nope-{tag}"})
    assert missing.status_code == 422
    # the target can change
    moved = httpx.put(f"{base}/r1", json={"$relationshipName": "brick:feeds",
                                          "$targetId": vav2},
                      headers={"If-Match": created.headers["etag"]})
    assert moved.status_code == 200
    ask_old = httpx.get(f"{server.url}/sparql", params={
        "query": f"ASK {{ <urn:twin:{ahu}> brick:feeds <urn:twin:{vav1}> }}"})
    assert ask_old.json()["boolean"] is False
    # replacing the twin keeps its relationships
    assert httpx.put(f"{server.url}/api/v1/twins/{ahu}",
                     json={"$types": ["brick:AHU"], "properties": {"rdfs:label": "A"}}
                     ).status_code == 200
    outgoing = httpx.get(base, params={"name": "brick:feeds"}).json()["value"]
    assert [r["$targetId"] for r in outgoing] == [vav2]
    incoming = httpx.get(f"{server.url}/api/v1/twins/{vav2}/incoming").json()["value"]
    assert [(r["$sourceId"], r["$relationshipId"]) for r in incoming] == [(ahu, "r1")]
    # a twin with relationships is not deleted without cascade
    conflict = httpx.delete(f"{server.url}/api/v1/twins/{vav2}")
    assert conflict.status_code == 409
    assert httpx.get(f"{server.url}/api/v1/twins/{vav2}").status_code == 200
    cascade = httpx.delete(f"{server.url}/api/v1/twins/{vav2}", params={"cascade": "true"})
    assert cascade.status_code == 204
    assert httpx.get(f"{base}/r1").status_code == 404
    assert httpx.get(base).json()["value"] == []
    ask_gone = httpx.get(f"{server.url}/sparql", params={
        "query": f"ASK {{ <urn:twin:{ahu}> brick:feeds ?any }}"})
    assert ask_gone.json()["boolean"] is False
    events = _events_after(server, head)
    types = [e["type"].removeprefix("dev.semtwin.") for e in events]
    assert types == ["relationship.created", "relationship.updated", "twin.updated",
                     "relationship.deleted", "twin.deleted"]
    # each relationship that went with the twin has its own event, as if deleted by itself
    # (just before the twin's, in the same transaction: consecutive numbers), and the twin's
    # event names them too; and the feed says what each event changed
    assert events[-2]["data"] == {"$sourceId": ahu, "$relationshipId": "r1"}
    assert events[-2]["subject"] == f"urn:twin:{ahu}/relationships/r1"
    assert events[-1]["sequence"] == events[-2]["sequence"] + 1
    assert events[-1]["data"]["relationships"] == [{"$sourceId": ahu, "$relationshipId": "r1"}]
    assert events[0]["data"]["relationship"] == {
        "$relationshipName": "brick:feeds", "$targetId": vav1,
        "properties": {"rdfs:comment": "duct 3"}}
    assert events[1]["data"]["patch"] == [
        {"op": "replace", "path": "/$targetId", "value": vav2},
        {"op": "remove", "path": "/properties/rdfs:comment"}]


def _all_pages(url: str, limit: int, **params: str) -> list[list[dict]]:
    pages: list[list[dict]] = []
    cursor = None
    while True:
        query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = httpx.get(url, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json()["value"])
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20


def test_relationship_lists_are_paged_with_a_stable_cursor(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:6]
    hub, other = f"hub-{tag}", f"other-{tag}"
    spaces = [f"space{i}-{tag}" for i in range(7)]
    for twin_id in (hub, other, *spaces):
        _twin(server, twin_id, ["brick:Space"])
    for i, space in enumerate(spaces):
        name = "brick:hasPart" if i % 2 == 0 else "brick:feeds"
        assert httpx.put(f"{server.url}/api/v1/twins/{hub}/relationships/r{i}", json={
            "$relationshipName": name, "$targetId": space}).status_code == 201
        assert httpx.put(f"{server.url}/api/v1/twins/{space}/relationships/in{i}", json={
            "$relationshipName": "brick:isPartOf", "$targetId": hub}).status_code == 201
    out = f"{server.url}/api/v1/twins/{hub}/relationships"
    pages = _all_pages(out, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [r["$relationshipId"] for p in pages for r in p] == [f"r{i}" for i in range(7)]
    parts = _all_pages(out, 2, name="brick:hasPart")
    assert [r["$relationshipId"] for p in parts for r in p] == ["r0", "r2", "r4", "r6"]
    incoming = _all_pages(f"{server.url}/api/v1/twins/{hub}/incoming", 4)
    assert sorted(r["$sourceId"] for p in incoming for r in p) == sorted(spaces)
    assert len([r for p in incoming for r in p]) == 7
    # written between pages: what existed throughout comes once, in order
    first = httpx.get(out, params={"limit": 3}).json()
    assert httpx.delete(f"{out}/r4").status_code == 204
    assert httpx.put(f"{out}/r0a", json={"$relationshipName": "brick:feeds",
                                          "$targetId": other}).status_code == 201
    rest = httpx.get(out, params={"limit": 100, "cursor": first["nextCursor"]}).json()
    assert [r["$relationshipId"] for r in first["value"] + rest["value"]] == [
        "r0", "r1", "r2", "r3", "r5", "r6"]
    assert rest["nextCursor"] is None
    # a cursor the server did not issue, and limits out of range, are refused
    for params in ({"cursor": "bm90IGEgY3Vyc29y!"}, {"limit": "0"}, {"limit": "1001"}):
        refused = httpx.get(out, params=params)
        assert refused.status_code == 400, params
        assert refused.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{server.url}/api/v1/twins/nope-{tag}/relationships").status_code == 404


def test_idempotency_key(server: ServerProcess) -> None:
    key = uuid.uuid4().hex
    headers = {"Idempotency-Key": key, "Content-Type": "application/json-patch+json"}
    twin = f"counter-{key[:6]}"
    url = f"{server.url}/api/v1/twins/{twin}"
    assert httpx.put(url, json={"properties": {"https://ex.org/tags": ["a"]}}).status_code == 201
    head = _head(server)
    add = b'[{"op": "add", "path": "/properties/https:~1~1ex.org~1count", "value": 1}]'
    first = httpx.patch(url, content=add, headers=headers)
    assert first.status_code == 200
    retry = httpx.patch(url, content=add, headers=headers)
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert retry.headers["etag"] == first.headers["etag"]
    assert _head(server) == head + 1  # the retry changed nothing and emitted nothing
    # POST: a retried create does not create a second twin
    post_headers = {"Idempotency-Key": f"{key}-post"}
    created = httpx.post(f"{server.url}/api/v1/twins", json={}, headers=post_headers)
    again = httpx.post(f"{server.url}/api/v1/twins", json={}, headers=post_headers)
    assert created.status_code == again.status_code == 201
    assert again.json()["$id"] == created.json()["$id"]
    assert _head(server) == head + 2
    # a different request with a fresh key is applied
    other = httpx.patch(url, json={"properties": {"https://ex.org/count": 2}}, headers={
        "Idempotency-Key": f"{key}-2", "Content-Type": "application/merge-patch+json"})
    assert other.status_code == 200
    assert "idempotent-replayed" not in other.headers
    assert _head(server) == head + 3


def test_idempotent_retries_racing_the_first_request(server: ServerProcess) -> None:
    """Retries sent while the first request is still answering get its response (status,
    body, ETag), not a placeholder; a request that reuses the key with another body is
    refused (422) and changes nothing."""
    tag = uuid.uuid4().hex[:6]
    head = _head(server)
    for round_ in range(8):
        url = f"{server.url}/api/v1/twins/race-{tag}-{round_}"
        headers = {"Idempotency-Key": f"{tag}-{round_}"}
        body = {"properties": {"https://ex.org/n": round_}}
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(
                lambda _, url=url, body=body, headers=headers: httpx.put(  # type: ignore[misc]
                    url, json=body, headers=headers), range(6)))
        assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
        assert len({(a.text, a.headers["etag"]) for a in answers}) == 1
        assert sum("idempotent-replayed" in a.headers for a in answers) == 5
        other = httpx.put(url, json={"properties": {"https://ex.org/n": -1}}, headers=headers)
        assert other.status_code == 422
        assert "Idempotency-Key" in other.json()["detail"]
        assert httpx.get(url).json()["properties"] == {"https://ex.org/n": round_}
        # the same body with another query is another request too
        cascade = httpx.delete(url, params={"cascade": "true"}, headers={
            "Idempotency-Key": f"{tag}-{round_}-d"})
        assert cascade.status_code == 204
        assert httpx.delete(url, headers={
            "Idempotency-Key": f"{tag}-{round_}-d"}).status_code == 422
    assert _head(server) == head + 16


def test_navigation(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:6]
    ontology = """@prefix brick: <https://brickschema.org/schema/Brick#> .
    @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    brick:VAV rdfs:subClassOf brick:Terminal_Unit .
    brick:Fan_Coil_Unit rdfs:subClassOf brick:Terminal_Unit ."""
    assert httpx.put(f"{server.url}/graphs", params={"graph": "urn:ontology:nav"},
                     content=ontology, headers={"Content-Type": "text/turtle"}
                     ).status_code in (201, 204)
    ids = {"ahu": f"ahu-{tag}", "vav1": f"vav1-{tag}", "vav2": f"vav2-{tag}",
           "fcu": f"fcu-{tag}", "room": f"room-{tag}"}
    kinds = {"ahu": "brick:AHU", "vav1": "brick:VAV", "vav2": "brick:VAV",
             "fcu": "brick:Fan_Coil_Unit", "room": "brick:Room"}
    for key, twin_id in ids.items():
        response = httpx.put(f"{server.url}/api/v1/twins/{twin_id}", json={
            "$types": [kinds[key]], "properties": {"rdfs:label": f"{key} {tag}"}})
        assert response.status_code == 201
    links = [("ahu", "r1", "brick:feeds", "vav1"), ("ahu", "r2", "brick:feeds", "vav2"),
             ("vav1", "r3", "brick:feeds", "room"), ("ahu", "r4", "brick:feeds", "fcu"),
             ("room", "r5", "brick:isPartOf", "ahu")]
    for source, rel, name, target in links:
        assert httpx.put(f"{server.url}/api/v1/twins/{ids[source]}/relationships/{rel}", json={
            "$relationshipName": name, "$targetId": ids[target]}).status_code == 201

    # listing by type with subclasses, label search and cursor pages
    seen, cursor = [], None
    while True:
        params = {"type": "brick:Terminal_Unit", "q": tag, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(f"{server.url}/api/v1/twins", params=params).json()
        seen += [t["$id"] for t in page["value"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([ids["vav1"], ids["vav2"], ids["fcu"]])
    assert len(seen) == len(set(seen))

    # neighbours, depth 2, outgoing
    found = httpx.get(f"{server.url}/api/v1/twins/{ids['ahu']}/neighbors",
                      params={"depth": 2}).json()
    depths = {t["twin"]["$id"]: t["depth"] for t in found["twins"]}
    assert depths == {ids["vav1"]: 1, ids["vav2"]: 1, ids["fcu"]: 1, ids["room"]: 2}
    only_vavs = httpx.get(f"{server.url}/api/v1/twins/{ids['ahu']}/neighbors",
                          params={"depth": 2, "type": "brick:VAV"}).json()
    assert {t["twin"]["$id"] for t in only_vavs["twins"]} == {ids["vav1"], ids["vav2"]}
    incoming = httpx.get(f"{server.url}/api/v1/twins/{ids['ahu']}/neighbors",
                         params={"direction": "in"}).json()
    assert [t["twin"]["$id"] for t in incoming["twins"]] == [ids["room"]]
    # a relationship walked backwards still reads from its source to its target
    assert incoming["relationships"] == [{"from": ids["room"], "relationshipId": "r5",
                                          "name": "brick:isPartOf", "to": ids["ahu"]}]
    # both ways: each relationship once, as it is, though found from both ends
    everything = httpx.get(f"{server.url}/api/v1/twins/{ids['ahu']}/neighbors",
                           params={"depth": 3, "direction": "both"}).json()
    key_of = {twin_id: key for key, twin_id in ids.items()}
    walked = [(key_of[e["from"]], e["relationshipId"], e["name"], key_of[e["to"]])
              for e in everything["relationships"]]
    assert sorted(walked) == sorted(links)

    # shortest paths
    paths = httpx.get(f"{server.url}/api/v1/paths", params={
        "from": ids["ahu"], "to": ids["room"], "maxDepth": 3}).json()["paths"]
    assert [[hop["relationshipId"] for hop in path] for path in paths] == [["r1", "r3"]]
    none = httpx.get(f"{server.url}/api/v1/paths", params={
        "from": ids["vav2"], "to": ids["fcu"]}).json()["paths"]
    assert none == []
    assert httpx.get(f"{server.url}/api/v1/paths", params={
        "from": ids["ahu"], "to": "nope"}).status_code == 404


def test_any_twin_by_iri(server: ServerProcess, twin_id: str) -> None:
    created = httpx.put(f"{server.url}/api/v1/twins/{twin_id}", json=AHU)
    by_iri = httpx.get(f"{server.url}/api/v1/twins", params={"iri": f"urn:twin:{twin_id}"})
    assert by_iri.status_code == 200
    assert by_iri.json() == created.json()
    loaded = f"https://ex.org/loaded/{twin_id}"
    turtle = (f"<{loaded}> a <https://brickschema.org/schema/Brick#Chiller> ;\n"
              f"  <http://www.w3.org/2000/01/rdf-schema#label> \"Chiller 1\" .")
    assert httpx.put(f"{server.url}/graphs", params={"graph": f"{loaded}#file"},
                     content=turtle, headers={"Content-Type": "text/turtle"}
                     ).status_code in (201, 204)
    twin = httpx.get(f"{server.url}/api/v1/twins", params={"iri": loaded})
    assert twin.status_code == 200
    assert twin.json()["$types"] == ["brick:Chiller"]
    assert twin.json()["properties"] == {"rdfs:label": "Chiller 1"}
    assert twin.headers["etag"]
    assert httpx.get(f"{server.url}/api/v1/twins",
                     params={"iri": "https://ex.org/never"}).status_code == 404


def test_state_updates(server: ServerProcess, twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    assert httpx.put(url, json={"$types": ["brick:Zone_Air_Temperature_Sensor"]}
                     ).status_code == 201
    temp = "https://ex.org/temperature"

    def post(event: str, when: str, value: float) -> dict:
        response = httpx.post(f"{url}/state", json={
            "eventId": event, "sourceTime": when, "properties": {temp: value}})
        assert response.status_code == 200, response.text
        return dict(response.json())

    head = _head(server)
    assert post("e1", "2026-11-25T10:00:00Z", 21.5) == {
        "eventId": "e1", "duplicate": False, "applied": [temp], "stale": []}
    assert post("e1", "2026-11-25T10:00:00Z", 21.5)["duplicate"] is True
    late = post("e0", "2026-11-25T09:59:00Z", 19.0)  # delivered out of order
    assert late == {"eventId": "e0", "duplicate": False, "applied": [], "stale": [temp]}
    assert httpx.get(url).json()["properties"][temp] == 21.5
    assert post("e2", "2026-11-25T10:01:00+00:00", 22.0)["applied"] == [temp]
    assert httpx.get(url).json()["properties"][temp] == 22.0
    events = _events_after(server, head)
    assert [(e["type"], e["data"]["eventId"]) for e in events] == [
        ("dev.semtwin.twin.state", "e1"), ("dev.semtwin.twin.state", "e2")]
    bad = httpx.post(f"{url}/state", json={"eventId": "e3", "sourceTime": "yesterday",
                                           "properties": {temp: 1}})
    assert bad.status_code == 400
    missing = httpx.post(f"{url}-nope/state", json={
        "eventId": "e4", "sourceTime": "2026-11-25T10:00:00Z", "properties": {temp: 1}})
    assert missing.status_code == 404


def test_event_stream_resumes_with_last_event_id(server: ServerProcess) -> None:
    head = _head(server)
    tag = uuid.uuid4().hex[:6]
    for i in range(3):
        assert httpx.put(f"{server.url}/api/v1/twins/sse-{tag}-{i}", json={}).status_code == 201

    def read(headers: dict[str, str], count: int) -> list[tuple[int, dict]]:
        got: list[tuple[int, dict]] = []
        with httpx.stream("GET", f"{server.url}/api/v1/events/stream", headers=headers,
                          timeout=20) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            seq = None
            for line in response.iter_lines():
                if line.startswith("id: "):
                    seq = int(line[4:])
                elif line.startswith("data: "):
                    got.append((seq, orjson.loads(line[6:])))
                    if len(got) == count:
                        break
        return got

    first = read({"Last-Event-ID": str(head)}, 2)
    assert [s for s, _ in first] == [head + 1, head + 2]
    assert first[0][1]["subject"] == f"urn:twin:sse-{tag}-0"
    resumed = read({"Last-Event-ID": str(first[-1][0])}, 1)
    assert [s for s, _ in resumed] == [head + 3]
    assert resumed[0][1]["subject"] == f"urn:twin:sse-{tag}-2"


def test_a_position_beyond_the_journal_is_refused(server: ServerProcess) -> None:
    """A consumer's sequence number from another store (or from before a restore) is a 409
    naming the real head, on the long-poll feed and on the stream, not a silent wait."""
    assert httpx.put(f"{server.url}/api/v1/twins/pos-{uuid.uuid4().hex[:6]}",
                     json={}).status_code == 201
    head = _head(server)
    while True:  # the real head, past the first pages
        page = httpx.get(f"{server.url}/api/v1/events",
                         params={"after": head, "limit": 1000}).json()
        if not page["events"]:
            break
        head = page["last"]
    assert httpx.get(f"{server.url}/api/v1/events", params={"after": head}).json() == {
        "events": [], "last": head}
    for params in ({"after": head + 1}, {"after": head + 1000, "wait": 5}):
        beyond = httpx.get(f"{server.url}/api/v1/events", params=params)
        assert beyond.status_code == 409, beyond.text
        assert beyond.headers["content-type"] == "application/problem+json"
        assert beyond.json()["last"] == head
        assert f"({head})" in beyond.json()["detail"]
    stream = httpx.get(f"{server.url}/api/v1/events/stream",
                       headers={"Last-Event-ID": str(head + 5)}, timeout=10)
    assert stream.status_code == 409 and stream.json()["last"] == head


def test_patch_a_relationship_moves_its_target(server: ServerProcess, twin_id: str) -> None:
    base = f"{server.url}/api/v1/twins"
    for name in ("src", "t1", "t2"):
        assert httpx.put(f"{base}/{twin_id}-{name}", json={}).status_code == 201
    rel = f"{base}/{twin_id}-src/relationships/r1"
    created = httpx.put(rel, json={"$relationshipName": "brick:feeds",
                                   "$targetId": f"{twin_id}-t1",
                                   "properties": {"https://ex.org/weight": 1}})
    assert created.status_code == 201
    moved = httpx.patch(rel, content=orjson.dumps({"$targetId": f"{twin_id}-t2",
                                                   "properties": {"https://ex.org/weight": 2}}),
                        headers={"Content-Type": "application/merge-patch+json",
                                 "If-Match": created.headers["etag"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["$targetId"] == f"{twin_id}-t2"
    assert httpx.get(rel).json() == moved.json()
    assert [r["$relationshipId"] for r in httpx.get(
        f"{base}/{twin_id}-t2/incoming").json()["value"]] == ["r1"]
    assert httpx.get(f"{base}/{twin_id}-t1/incoming").json()["value"] == []
    # the plain triple moved too
    ask = httpx.get(f"{server.url}/sparql", params={"query": (
        f"ASK {{ <urn:twin:{twin_id}-src> <https://brickschema.org/schema/Brick#feeds> "
        f"<urn:twin:{twin_id}-t1> }}")}, headers={"Accept": "application/sparql-results+json"})
    assert ask.json()["boolean"] is False
    stale = httpx.patch(rel, content=b'[{"op": "replace", "path": "/$targetId", "value": "x"}]',
                        headers={"Content-Type": "application/json-patch+json",
                                 "If-Match": created.headers["etag"]})
    assert stale.status_code == 412
    missing = httpx.patch(rel, content=orjson.dumps({"$targetId": f"{twin_id}-none"}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert missing.status_code == 422


def _graph_triples(server: ServerProcess, iri: str) -> set[str]:
    constructed = httpx.get(f"{server.url}/sparql", params={
        "query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/n-triples"})
    return {line for line in constructed.text.splitlines() if line.strip()}


def _as_ntriples(data: bytes, fmt: RdfFormat) -> set[str]:
    return {f"{q.subject} {q.predicate} {q.object} ." for q in parse(data, format=fmt)}


def test_twins_as_json_ld_and_turtle(server: ServerProcess, twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    assert httpx.put(url, json=AHU).status_code == 201
    iri = f"urn:twin:{twin_id}"
    stored = _graph_triples(server, iri)
    assert len(stored) == 7
    json_ld = httpx.get(url, headers={"Accept": "application/ld+json"})
    assert json_ld.headers["content-type"].startswith("application/ld+json")
    assert "@context" in json_ld.json()
    assert _as_ntriples(json_ld.content, RdfFormat.JSON_LD) == stored
    turtle = httpx.get(url, headers={"Accept": "text/turtle"})
    assert turtle.headers["etag"] == json_ld.headers["etag"]
    assert _as_ntriples(turtle.content, RdfFormat.TURTLE) == stored
    context = httpx.get(f"{server.url}/api/v1/context").json()["@context"]
    assert context["$types"] == "@type" and context["properties"] == "@nest"
    assert httpx.get(url, headers={"Accept": "image/png"}).status_code == 406
    # Accept lists as clients send them, repeated (the fast path answers repeated reads):
    # each gets what the route's negotiation picks
    for _ in range(3):
        axios = httpx.get(url, headers={"Accept": "application/json, text/plain, */*"})
        assert axios.headers["content-type"] == "application/json"
        assert axios.headers["etag"] == turtle.headers["etag"]
        assert axios.json()["$etag"] == turtle.headers["etag"].strip('"')
        prefers_turtle = httpx.get(url, headers={
            "Accept": "application/json;q=0.5, text/turtle;q=0.9"})
        assert prefers_turtle.headers["content-type"].startswith("text/turtle")
        assert _as_ntriples(prefers_turtle.content, RdfFormat.TURTLE) == stored
        ld = httpx.get(url, headers={"Accept": "application/ld+json, */*;q=0.1"})
        assert ld.headers["content-type"].startswith("application/ld+json")
    # and back: Turtle in, the same twin out
    other = f"{url}-ttl"
    put = httpx.put(other, content=f"<urn:twin:{twin_id}-ttl> a "
                    "<https://brickschema.org/schema/Brick#VAV> ; "
                    "<http://www.w3.org/2000/01/rdf-schema#label> \"VAV 7\" .",
                    headers={"Content-Type": "text/turtle"})
    assert put.status_code == 201, put.text
    assert put.json()["$types"] == ["brick:VAV"]
    assert httpx.get(other).json()["properties"] == {"rdfs:label": "VAV 7"}
    stranger = httpx.put(other, content="<urn:twin:someone-else> a <urn:C> .",
                         headers={"Content-Type": "text/turtle"})
    assert stranger.status_code == 400 and "describes only the twin" in stranger.text
    broken = httpx.put(other, content="<urn:a> <urn:b> .",
                       headers={"Content-Type": "text/turtle"})
    assert broken.status_code == 400 and "line 1" in broken.text
    assert httpx.get(other).json()["properties"] == {"rdfs:label": "VAV 7"}


def test_each_property_has_its_last_update_time(server: ServerProcess, twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    created = httpx.put(url, json={"properties": {"rdfs:label": "A", "https://ex.org/n": 1}})
    first = created.json()["$metadata"]
    assert set(first["properties"]) == {"rdfs:label", "https://ex.org/n"}
    assert first["properties"]["rdfs:label"]["lastUpdateTime"] == first["lastUpdateTime"]
    time.sleep(0.05)
    patched = httpx.patch(url, content=b'{"properties": {"https://ex.org/n": 2}}',
                          headers={"Content-Type": "application/merge-patch+json"})
    meta = patched.json()["$metadata"]
    assert meta["properties"]["rdfs:label"] == first["properties"]["rdfs:label"]
    assert meta["properties"]["https://ex.org/n"]["lastUpdateTime"] == meta["lastUpdateTime"]
    assert meta["lastUpdateTime"] > first["lastUpdateTime"]
    assert httpx.get(url).json()["$metadata"] == meta
    state = httpx.post(f"{url}/state", json={
        "eventId": f"e-{twin_id}", "sourceTime": "2030-01-01T00:00:00Z",
        "properties": {"rdfs:label": "B"}})
    assert state.status_code == 200, state.text
    after = httpx.get(url).json()["$metadata"]
    assert after["properties"]["https://ex.org/n"] == meta["properties"]["https://ex.org/n"]
    assert after["properties"]["rdfs:label"]["lastUpdateTime"] == after["lastUpdateTime"]


def test_a_sparql_update_of_a_twin_changes_its_etag(server: ServerProcess, twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    old = httpx.put(url, json={"properties": {"rdfs:label": "before"}}).headers["etag"]
    update = httpx.post(f"{server.url}/sparql", content=(
        f"INSERT DATA {{ GRAPH <urn:twin:{twin_id}> {{ <urn:twin:{twin_id}> "
        "<https://ex.org/note> \"via SPARQL\" } }"),
        headers={"Content-Type": "application/sparql-update"})
    assert update.status_code == 204
    now = httpx.get(url)
    assert now.json()["properties"]["https://ex.org/note"] == "via SPARQL"
    assert now.headers["etag"] != old
    stale = httpx.put(url, json={"properties": {}}, headers={"If-Match": old})
    assert stale.status_code == 412
    events = httpx.get(f"{server.url}/api/v1/events",
                       params={"after": 0, "limit": 1000}).json()["events"]
    assert events[-1]["data"]["resources"] == [f"urn:twin:{twin_id}"]
    # the client's quads, not the twin's new ETag
    assert (events[-1]["data"]["inserted"], events[-1]["data"]["deleted"]) == (1, 0)


def test_a_sparql_update_event_counts_what_clear_and_drop_removed(server: ServerProcess,
                                                                   twin_id: str) -> None:
    graph = f"https://ex.org/counted/{twin_id}"
    sparql = {"Content-Type": "application/sparql-update"}

    def last_event() -> dict[str, object]:
        events = httpx.get(f"{server.url}/api/v1/events",
                           params={"after": _head(server) - 1}).json()["events"]
        data: dict[str, object] = events[-1]["data"]
        return data

    assert httpx.post(f"{server.url}/sparql", headers=sparql, content=(
        f"INSERT DATA {{ GRAPH <{graph}> {{ <{graph}#s> <{graph}#p> 1, 2, 3 }} }}")
    ).status_code == 204
    assert httpx.post(f"{server.url}/sparql", headers=sparql, content=(
        f"CLEAR GRAPH <{graph}> ; "
        f"INSERT DATA {{ GRAPH <{graph}> {{ <{graph}#s> <{graph}#p> 4 }} }}")
    ).status_code == 204
    assert (last_event()["inserted"], last_event()["deleted"]) == (1, 3)
    assert httpx.post(f"{server.url}/sparql", headers=sparql,
                      content=f"DROP GRAPH <{graph}>").status_code == 204
    assert (last_event()["inserted"], last_event()["deleted"]) == (0, 1)


def test_a_graph_store_write_to_a_twins_graph_keeps_the_twin(server: ServerProcess,
                                                              twin_id: str) -> None:
    """The Graph Store writes a twin's graph like SPARQL Update does: the twin stays, with
    what was written and a new ETag (it used to lose its metadata and answer 404)."""
    url = f"{server.url}/api/v1/twins/{twin_id}"
    created = httpx.put(url, json={"$types": ["brick:AHU"], "properties": {"rdfs:label": "X"}})
    old = created.headers["etag"]
    label_time = created.json()["$metadata"]["properties"]["rdfs:label"]["lastUpdateTime"]
    graph = {"graph": f"urn:twin:{twin_id}"}
    turtle = {"Content-Type": "text/turtle"}
    merged = httpx.post(f"{server.url}/graphs", params=graph, headers=turtle,
                        content=f"<urn:twin:{twin_id}> <https://ex.org/extra> 5 .")
    assert merged.status_code == 204, merged.text
    now = httpx.get(url)
    assert now.status_code == 200, now.text
    assert now.json()["properties"] == {"rdfs:label": "X", "https://ex.org/extra": 5}
    assert now.headers["etag"] != old
    assert now.json()["$metadata"]["properties"]["rdfs:label"]["lastUpdateTime"] == label_time
    assert httpx.put(url, json={"properties": {}}, headers={"If-Match": old}).status_code == 412
    replaced = httpx.put(f"{server.url}/graphs", params=graph, headers=turtle,
                         content=f"<urn:twin:{twin_id}> a <https://brickschema.org/schema/"
                                 "Brick#VAV> .")
    assert replaced.status_code == 204, replaced.text
    after = httpx.get(url)
    assert after.status_code == 200 and after.json()["$types"] == ["brick:VAV"]
    assert after.headers["etag"] not in (old, now.headers["etag"])


@pytest.mark.parametrize("door", ["sparql", "graph-store"])
def test_a_relationship_whose_graph_is_dropped_is_gone(server: ServerProcess, twin_id: str,
                                                       door: str) -> None:
    """A relationship is its source, name and target: dropping its graph through SPARQL
    or the Graph Store deletes it (it used to stay, read back with all three null), and
    the same id can be made again."""
    source = f"{server.url}/api/v1/twins/{twin_id}"
    target = f"{twin_id}-to"
    httpx.put(source, json={"properties": {}}).raise_for_status()
    httpx.put(f"{server.url}/api/v1/twins/{target}",
              json={"properties": {"rdfs:label": "to"}}).raise_for_status()
    rel = f"{source}/relationships/r1"
    body = {"$relationshipName": "brick:feeds", "$targetId": target}
    httpx.put(rel, json=body).raise_for_status()
    graph = f"urn:twin:{twin_id}/relationships/r1"
    if door == "sparql":
        dropped = httpx.post(f"{server.url}/sparql", content=f"DROP GRAPH <{graph}>",
                             headers={"Content-Type": "application/sparql-update"})
    else:
        dropped = httpx.delete(f"{server.url}/graphs", params={"graph": graph})
    assert dropped.status_code == 204, dropped.text
    assert httpx.get(rel).status_code == 404
    assert httpx.get(f"{source}/relationships").json()["value"] == []
    again = httpx.put(rel, json=body, headers={"If-None-Match": "*"})
    assert again.status_code == 201, again.text
    assert httpx.get(rel).json()["$targetId"] == target
    # a twin's graph dropped the same way leaves the twin, empty
    twin_graph = f"urn:twin:{target}"
    assert httpx.post(f"{server.url}/sparql", content=f"DROP GRAPH <{twin_graph}>",
                      headers={"Content-Type": "application/sparql-update"}).status_code == 204
    assert httpx.get(f"{server.url}/api/v1/twins/{target}").json()["properties"] == {}


def test_numbers_json_cannot_carry_keep_every_digit(server: ServerProcess, twin_id: str) -> None:
    """xsd:integer has no bound and xsd:double has NaN and infinities: a twin holding such a
    value (written through the API, or by SPARQL) reads back exactly, as a value object where
    a JSON number cannot carry it, and nothing that shows it fails."""
    url = f"{server.url}/api/v1/twins/{twin_id}"
    big = 2**70 + 1  # beyond 64 bits: a float in most JSON parsers
    body = (b'{"properties": {"https://ex.org/big": %d, "https://ex.org/max": %d, '
            b'"https://ex.org/min": %d}}' % (big, 2**63 - 1, -(2**63) - 1))
    created = httpx.put(url, content=body, headers={"Content-Type": "application/json"})
    if server.backend == "virtuoso":  # its integers are 64-bit: it refuses, nothing is written
        assert created.status_code == 400
        assert "Invalid integer value" in created.json()["detail"]
        assert httpx.get(url).status_code == 404
        return
    assert created.status_code == 201, created.text
    state = httpx.post(f"{url}/state", content=b'{"properties": {"https://ex.org/count": %d}, '
                       b'"sourceTime": "2026-11-26T10:00:00Z", "eventId": "%s"}'
                       % (big + 1, twin_id.encode()),
                       headers={"Content-Type": "application/json"})
    assert state.status_code == 200, state.text
    update = httpx.post(f"{server.url}/sparql", content=(
        f"INSERT DATA {{ GRAPH <urn:twin:{twin_id}> {{ <urn:twin:{twin_id}> "
        "<https://ex.org/ratio> \"NaN\"^^<http://www.w3.org/2001/XMLSchema#double> } }"),
        headers={"Content-Type": "application/sparql-update"})
    assert update.status_code == 204

    # exact in the store, as SPARQL sees it
    found = httpx.get(f"{server.url}/sparql", headers={"Accept": "text/csv"}, params={
        "query": f"SELECT ?v WHERE {{ GRAPH ?g {{ <urn:twin:{twin_id}> <https://ex.org/big> ?v "
                 "} }"}).text.split()
    assert found == ["v", str(big)]
    # exact in the twin, by id (the fast path), in a listing and in the change feed
    properties = httpx.get(url).json()["properties"]
    assert properties["https://ex.org/big"] == {"@value": str(big), "@type": "xsd:integer"}
    assert properties["https://ex.org/count"] == {"@value": str(big + 1),
                                                  "@type": "xsd:integer"}
    assert properties["https://ex.org/max"] == 2**63 - 1  # still a JSON number
    assert properties["https://ex.org/min"] == {"@value": str(-(2**63) - 1),
                                                "@type": "xsd:integer"}
    assert properties["https://ex.org/ratio"] == {"@value": "NaN", "@type": "xsd:double"}
    listed = httpx.get(f"{server.url}/api/v1/twins", params={"q": "", "limit": 1000})
    assert listed.status_code == 200, listed.text
    events = httpx.get(f"{server.url}/api/v1/events", params={"after": 0, "limit": 1000})
    assert events.status_code == 200
    assert f'"https://ex.org/count":{big + 1}' in events.text  # the state update's values
    # what a client read it as, it writes back unchanged
    again = httpx.put(url, json={"properties": properties})
    assert again.status_code == 200
    assert httpx.get(url).json()["properties"] == properties


def test_conditional_requests_follow_rfc_9110(server: ServerProcess, twin_id: str) -> None:
    """``If-None-Match`` on a read answers 304 while the twin is unchanged; ``If-Match`` takes
    ``*`` (the twin must exist) and lists of ETags (one must be current); weak tags never
    match a write."""
    url = f"{server.url}/api/v1/twins/{twin_id}"
    assert httpx.put(url, json={"properties": {}}, headers={"If-Match": "*"}).status_code == 412
    etag = httpx.put(url, json={"properties": {"rdfs:label": "one"}}).headers["etag"]
    # a read: 304 with the ETag and no body, on the current ETag (or *), else the twin
    for header in (etag, f'"x", {etag}', f"W/{etag}", "*"):
        cached = httpx.get(url, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.headers["etag"] == etag and cached.content == b""
    assert httpx.get(url, headers={"If-None-Match": '"x"'}).status_code == 200
    # writes
    assert httpx.put(url, json={"properties": {}},
                     headers={"If-Match": f"W/{etag}"}).status_code == 412
    assert httpx.put(url, json={"properties": {}},
                     headers={"If-Match": '"x", "y"'}).status_code == 412
    listed = httpx.put(url, json={"properties": {"rdfs:label": "two"}},
                       headers={"If-Match": f'"x", {etag}'})
    assert listed.status_code == 200
    assert listed.headers["etag"] != etag
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 200  # changed
    starred = httpx.patch(url, content=b'{"properties": {"rdfs:label": "three"}}',
                          headers={"If-Match": "*",
                                   "Content-Type": "application/merge-patch+json"})
    assert starred.status_code == 200
    assert httpx.get(url).json()["properties"]["rdfs:label"] == "three"
    assert httpx.delete(url, headers={"If-Match": "*"}).status_code == 204
    assert httpx.delete(url, headers={"If-Match": "*"}).status_code == 412


def test_head_of_a_twin_answers_as_get_without_the_body(server: ServerProcess,
                                                        twin_id: str) -> None:
    url = f"{server.url}/api/v1/twins/{twin_id}"
    assert httpx.head(url).status_code == 404
    etag = httpx.put(url, json={"properties": {"rdfs:label": "head"}}).headers["etag"]
    got, head = httpx.get(url), httpx.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag == got.headers["etag"]
    assert int(head.headers["content-length"]) == len(got.content)
    assert head.headers["content-type"] == got.headers["content-type"]
    assert httpx.head(url, headers={"If-None-Match": etag}).status_code == 304
    turtle = httpx.head(url, headers={"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")


def test_every_get_route_answers_head(server: ServerProcess, twin_id: str) -> None:
    """HEAD of a route without its own HEAD handler: the GET's status and headers, no body;
    a method the path does not serve stays a 405, an unknown path a 404."""
    _twin(server, twin_id, ["brick:AHU"])
    _twin(server, f"{twin_id}-v", ["brick:VAV"])
    assert httpx.put(f"{server.url}/api/v1/twins/{twin_id}/relationships/r1", json={
        "$relationshipName": "brick:feeds", "$targetId": f"{twin_id}-v"}).status_code == 201
    paths = [f"/api/v1/twins/{twin_id}/relationships", f"/api/v1/twins/{twin_id}/incoming",
             f"/api/v1/twins/{twin_id}/relationships/r1", "/api/v1/twins?type=brick:AHU",
             f"/api/v1/twins/{twin_id}/neighbors", "/api/v1/events?after=0&limit=5",
             "/sparql?query=ASK%20%7B%7D", "/api/v1/models", "/api/v1/context"]
    for path in paths:
        got, head = httpx.get(server.url + path), httpx.head(server.url + path)
        assert got.status_code == head.status_code == 200, (path, head.status_code)
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert int(head.headers["content-length"]) == len(got.content), path
    missing = httpx.head(f"{server.url}/api/v1/twins/nope-{twin_id}/relationships")
    assert missing.status_code == 404 and missing.content == b""
    assert httpx.head(f"{server.url}/api/v1/batch").status_code == 405
    assert httpx.head(f"{server.url}/api/v1/no-such-route").status_code == 404
    # the change feed's stream: its headers, then the request ends
    with httpx.Client(timeout=10) as client:
        stream = client.head(f"{server.url}/api/v1/events/stream")
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert httpx.get(f"{server.url}/api/v1/twins/{twin_id}").status_code == 200


def test_an_encoded_slash_in_an_id_is_refused_not_rerouted(server: ServerProcess,
                                                           twin_id: str) -> None:
    """The server decodes ``%2F`` before routing: ``/twins/x%2Fincoming`` would read twin x's
    incoming relationships and ``/twins/x%2Frelationships%2Fr`` write one; both are 400."""
    _twin(server, twin_id, ["brick:AHU"])
    _twin(server, f"{twin_id}-v", ["brick:VAV"])
    head = _head(server)
    base = f"{server.url}/api/v1/twins"
    attempts = [("GET", f"{base}/{twin_id}%2Fincoming", None),
                ("GET", f"{base}/{twin_id}%2frelationships", None),
                ("PUT", f"{base}/a%2Fb", {}),
                ("GET", f"{server.url}/api/v1/twins%2F{twin_id}%2Fincoming", None),
                ("PUT", f"{base}/{twin_id}%2Frelationships%2Fr1",
                 {"$relationshipName": "brick:feeds", "$targetId": f"{twin_id}-v"}),
                ("DELETE", f"{base}/{twin_id}%2Frelationships%2Fr1", None)]
    for method, url, body in attempts:
        response = httpx.request(method, url, json=body)
        assert response.status_code == 400, (method, url, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        assert "'/'" in response.json()["detail"]
    assert httpx.get(f"{base}/{twin_id}/relationships").json()["value"] == []
    assert _events_after(server, head) == []


def _replayed(events: list[dict], subject: str, created: str) -> dict:
    """A feed consumer's copy of one resource: its content from the created event, then
    each updated event's JSON Patch in sequence order."""
    copy: dict | None = None
    for event in events:
        if event["subject"] != subject:
            continue
        if event["type"].endswith(".created"):
            copy = event["data"][created]
        else:
            assert copy is not None
            copy = jsonpatch.apply_patch(copy, event["data"]["patch"])
    assert copy is not None
    return copy


def test_the_feed_replays_concurrent_unconditional_writes(server: ServerProcess,
                                                          twin_id: str) -> None:
    """Writers without If-Match replace one twin and one relationship at once: every write
    succeeds (last writer wins), and the feed's patches, applied in order from the created
    event, give exactly the stored twin and relationship. Each patch must be relative to the
    version it actually replaced, also when another write committed between a request's
    read and its commit (properties come and go, so a stale patch removes what is not
    there or keeps what was removed)."""
    head = _head(server)
    url = f"{server.url}/api/v1/twins/{twin_id}"
    target = f"{twin_id}-target"
    assert httpx.put(f"{server.url}/api/v1/twins/{target}", json={}).status_code == 201
    assert httpx.put(url, json={"properties": {"rdfs:label": "start"}}).status_code == 201
    rel_url = f"{url}/relationships/feeds"
    assert httpx.put(rel_url, json={"$relationshipName": "brick:feeds", "$targetId": target,
                                    "properties": {"https://ex.org/w": 0}}).status_code == 201

    def writer(worker: int) -> list[int]:
        statuses = []
        with httpx.Client(timeout=30) as client:
            for i in range(12):
                props = {f"https://ex.org/p{(worker + i + k) % 5}": worker * 100 + i
                         for k in range((worker + i) % 3 + 1)}
                statuses.append(client.put(url, json={"properties": props}).status_code)
                statuses.append(client.put(rel_url, json={
                    "$relationshipName": "brick:feeds", "$targetId": target,
                    "properties": props}).status_code)
        return statuses

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = [s for done in pool.map(writer, range(6)) for s in done]
    assert set(statuses) == {200}, statuses
    events = []
    after = head
    while True:
        page = _events_after(server, after)
        if not page:
            break
        events += page
        after = page[-1]["sequence"]
    twin = httpx.get(url).json()
    relationship = httpx.get(rel_url).json()
    iri = twin["$iri"]
    assert _replayed(events, iri, "twin") == {"$types": twin["$types"],
                                              "properties": twin["properties"]}
    assert _replayed(events, f"{iri}/relationships/feeds", "relationship") == {
        k: relationship[k] for k in ("$relationshipName", "$targetId", "properties")}


@pytest.mark.parametrize(("door", "end"), [("rest", "target"), ("batch", "target"),
                                           ("rest", "source")])
def test_cascade_delete_leaves_no_relationship_behind(server: ServerProcess, door: str,
                                                      end: str) -> None:
    """Relationships to (or from) a twin keep being made while it is deleted with cascade (a
    DELETE with ?cascade=true, or a batch's delete operation): none may be left pointing at
    the deleted twin or hanging from it (the cascade is listed again under the write lock,
    and a relationship's source must exist when it commits, as its target must), and the
    deletion event names every relationship it removed."""
    tag = uuid.uuid4().hex[:6]
    hub, other = f"hub-{tag}", f"other-{tag}"
    for twin_id in (hub, other):
        assert httpx.put(f"{server.url}/api/v1/twins/{twin_id}", json={}).status_code == 201
    source, target = (other, hub) if end == "target" else (hub, other)
    rels = f"{server.url}/api/v1/twins/{source}/relationships"
    stop = time.monotonic() + 20
    made: list[str] = []

    def make_relationships(worker: int) -> None:
        with httpx.Client(timeout=30) as client:
            for i in range(400):
                rel_id = f"r{worker}-{i}"
                answer = client.put(f"{rels}/{rel_id}", json={
                    "$relationshipName": "brick:feeds", "$targetId": target})
                if answer.status_code in (404, 422) or time.monotonic() > stop:
                    return  # the hub is gone
                assert answer.status_code == 201, answer.text
                made.append(rel_id)

    head = _head(server)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        makers = [pool.submit(make_relationships, w) for w in range(3)]
        while len(made) < 20:
            time.sleep(0.01)
        if door == "rest":
            deleted = httpx.delete(f"{server.url}/api/v1/twins/{hub}",
                                   params={"cascade": "true"})
            assert deleted.status_code == 204
        else:
            deleted = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
                {"op": "put", "id": other, "twin": {}},
                {"op": "delete", "id": hub, "cascade": True}]})
            assert deleted.status_code == 200, deleted.text
        for maker in makers:
            maker.result()
    dangling = httpx.get(f"{server.url}/sparql", params={
        "query": f"ASK {{ {{ ?s brick:feeds <urn:twin:{hub}> }} UNION "
                 f"{{ <urn:twin:{hub}> brick:feeds ?o }} UNION "
                 f"{{ ?r <https://semtwin.dev/ns#target>|<https://semtwin.dev/ns#source> "
                 f"<urn:twin:{hub}> }} }}"}).json()["boolean"]
    assert dangling is False
    if end == "target":
        assert httpx.get(rels, params={"limit": 1000}).json()["value"] == []
    event = next(e for e in _events_after_all(server, head)
                 if e["type"] == "dev.semtwin.twin.deleted")
    assert sorted(r["$relationshipId"] for r in event["data"]["relationships"]) == sorted(made)


def _events_after_all(server: ServerProcess, seq: int) -> list[dict]:
    events: list[dict] = []
    while page := _events_after(server, seq):
        events += page
        seq = page[-1]["sequence"]
    return events


def test_a_relationship_id_reads_back_as_written(server: ServerProcess) -> None:
    """Ids outside ASCII are percent-encoded in the relationship's IRI, and decoded wherever
    the API names the relationship (it said ``caf%C3%A9`` for ``café``)."""
    tag = uuid.uuid4().hex[:6]
    source, target = f"src-{tag}", f"dst-{tag}"
    for twin_id in (source, target):
        assert httpx.put(f"{server.url}/api/v1/twins/{twin_id}", json={}).status_code == 201
    made = httpx.put(f"{server.url}/api/v1/twins/{source}/relationships/café-{tag}", json={
        "$relationshipName": "brick:feeds", "$targetId": target})
    assert made.status_code == 201 and made.json()["$relationshipId"] == f"café-{tag}"
    listed = httpx.get(f"{server.url}/api/v1/twins/{source}/relationships").json()["value"]
    assert [r["$relationshipId"] for r in listed] == [f"café-{tag}"]
    walked = httpx.get(f"{server.url}/api/v1/twins/{target}/neighbors",
                       params={"direction": "in"}).json()["relationships"]
    assert [r["relationshipId"] for r in walked] == [f"café-{tag}"]
    path = httpx.get(f"{server.url}/api/v1/paths", params={"from": source, "to": target}
                     ).json()["paths"]
    assert [hop["relationshipId"] for hop in path[0]] == [f"café-{tag}"]
    assert httpx.delete(f"{server.url}/api/v1/twins/{source}/relationships/café-{tag}"
                        ).status_code == 204


def test_devices_updating_one_twin_at_once(server: ServerProcess, twin_id: str) -> None:
    """Sixteen devices post state updates to one twin at once, out of order: every update is
    answered 200 (applied or stale, none refused because another landed first), and the
    twin ends with the value of the latest source time."""
    url = f"{server.url}/api/v1/twins/{twin_id}"
    assert httpx.put(url, json={}).status_code == 201
    times = list(range(320))
    random.Random(5).shuffle(times)

    def device(worker: int) -> list[int]:
        codes = []
        with httpx.Client(timeout=30) as client:
            for t in times[worker::16]:
                answer = client.post(f"{url}/state", json={
                    "eventId": f"e{t}", "sourceTime": f"2026-11-26T10:{t // 60:02d}:"
                    f"{t % 60:02d}Z", "properties": {"https://ex.org/temp": t}})
                codes.append(answer.status_code)
                if answer.status_code != 200:  # what went wrong, in the failure report
                    refused.append(f"e{t}: {answer.status_code} {answer.text[:300]}")
        return codes

    refused: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = [c for done in pool.map(device, range(16)) for c in done]
    assert set(codes) == {200}, refused
    assert httpx.get(url).json()["properties"]["https://ex.org/temp"] == 319


def test_patches_of_one_twin_at_once_lose_nothing(server: ServerProcess, twin_id: str) -> None:
    """Sixteen clients merge-patch one twin at once without If-Match, each adding properties
    of its own: every patch is answered 200 (applied to the twin as stored when it commits,
    not refused because another landed first) and none is lost."""
    url = f"{server.url}/api/v1/twins/{twin_id}"
    assert httpx.put(url, json={}).status_code == 201

    def client_patches(worker: int) -> list[int]:
        with httpx.Client(timeout=30) as client:
            return [client.patch(url, content=orjson.dumps(
                {"properties": {f"https://ex.org/p{worker}-{i}": i}}),
                headers={"Content-Type": "application/merge-patch+json"}).status_code
                for i in range(15)]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = [c for done in pool.map(client_patches, range(16)) for c in done]
    assert set(codes) == {200}, sorted(set(codes))
    properties = httpx.get(url).json()["properties"]
    assert len(properties) == 16 * 15
