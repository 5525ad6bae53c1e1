"""Governance through the real server on every backend: models with versions and a
lifecycle, writes validated against the active shapes (422 with the report, nothing written,
no event), activation refused on impact unless forced with a reason."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from tests.conftest import ServerProcess

TURTLE = {"Content-Type": "text/turtle"}
XSD = "http://www.w3.org/2001/XMLSchema#"


def _model(iri: str, version: str, ns: str, *, max_power: int = 100) -> str:
    return f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{iri}> a owl:Ontology ; owl:versionInfo "{version}" .
<{ns}Pump> a owl:Class ; rdfs:subClassOf <{ns}Equipment> .
<{ns}PumpShape> a sh:NodeShape ; sh:targetClass <{ns}Equipment> ;
  sh:property [ sh:path <{ns}power> ; sh:datatype xsd:integer ; sh:maxInclusive {max_power} ;
                sh:maxCount 1 ] ;
  sh:property [ sh:path <{ns}feeds> ; sh:class <{ns}Equipment> ] .
"""


@pytest.fixture
def ns() -> str:
    return f"https://ex.org/{uuid.uuid4().hex[:8]}#"


@pytest.fixture
def twin_id() -> str:
    return f"pump-{uuid.uuid4().hex[:8]}"


def _head(server: ServerProcess) -> int:
    return int(httpx.get(f"{server.url}/api/v1/events",
                         params={"after": 0, "limit": 1000}).json()["last"])


def _activate(server: ServerProcess, iri: str, version: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/models/status",
                      params={"iri": iri, "version": version},
                      json={"status": "active", **extra}, timeout=30)


def _upload_active(server: ServerProcess, ns: str, version: str = "1", **kw: int) -> str:
    iri = ns.rstrip("#")
    up = httpx.post(f"{server.url}/api/v1/models", content=_model(iri, version, ns, **kw),
                    headers=TURTLE)
    assert up.status_code == 201, up.text
    assert up.json()["status"] == "draft"
    active = _activate(server, iri, version)
    assert active.status_code == 200, active.text
    assert active.json()["model"]["status"] == "active"
    return iri


def test_core_models_are_active_at_start(server: ServerProcess) -> None:
    models = httpx.get(f"{server.url}/api/v1/models").json()["models"]
    core = {m["iri"]: m["status"] for m in models}
    assert core["https://semtwin.dev/ns"] == "active"
    assert core["https://semtwin.dev/shapes/core"] == "active"


def test_a_violating_twin_write_is_refused_and_leaves_nothing(server: ServerProcess,
                                                              ns: str) -> None:
    _upload_active(server, ns)
    twins = f"{server.url}/api/v1/twins"
    ok = httpx.put(f"{twins}/p-{ns[-9:-1]}", json={
        "$types": [f"{ns}Pump"], "properties": {f"{ns}power": 50}})
    assert ok.status_code == 201, ok.text
    before = _head(server)
    bad = httpx.put(f"{twins}/q-{ns[-9:-1]}", json={
        "$types": [f"{ns}Pump"], "properties": {f"{ns}power": 500}})
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["title"] == "Shape violation"
    [result] = problem["report"]["results"]
    assert result["focusNode"] == f"urn:twin:q-{ns[-9:-1]}"
    assert result["resultPath"] == f"{ns}power"
    assert result["sourceConstraintComponent"].endswith("MaxInclusiveConstraintComponent")
    assert result["value"].startswith('"500"')
    assert httpx.get(f"{twins}/q-{ns[-9:-1]}").status_code == 404
    assert _head(server) == before
    # a patch that breaks the shape is refused too, and the twin keeps its value
    etag = ok.headers["etag"]
    pointer = f"/properties/{ns.replace('/', '~1')}power"
    patch = httpx.patch(f"{twins}/p-{ns[-9:-1]}", json=[
        {"op": "replace", "path": pointer,
         "value": {"@value": "high", "@type": f"{XSD}string"}}],
        headers={"Content-Type": "application/json-patch+json", "If-Match": etag})
    assert patch.status_code == 422, patch.text
    assert "DatatypeConstraintComponent" in patch.text
    # a plain JSON value takes the type the models give the property: one not of that type
    # is refused at once, naming the property and the type
    plain = httpx.patch(f"{twins}/p-{ns[-9:-1]}", json=[
        {"op": "replace", "path": pointer, "value": "high"}],
        headers={"Content-Type": "application/json-patch+json", "If-Match": etag})
    assert plain.status_code == 400, plain.text
    assert plain.headers["content-type"] == "application/problem+json"
    detail = plain.json()["detail"]
    assert f"properties.{ns}power" in detail and "xsd:integer" in detail
    assert '"high"' in detail
    assert httpx.get(f"{twins}/p-{ns[-9:-1]}").json()["properties"][f"{ns}power"] == 50
    assert _head(server) == before
    # the report in Turtle for clients that ask for RDF
    turtle = httpx.put(f"{twins}/q-{ns[-9:-1]}", json={
        "$types": [f"{ns}Pump"], "properties": {f"{ns}power": 500}},
        headers={"Accept": "text/turtle"})
    assert turtle.status_code == 422
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "ValidationReport" in turtle.text and "MaxInclusive" in turtle.text


def test_a_change_elsewhere_is_caught_at_the_node_it_affects(server: ServerProcess,
                                                             ns: str) -> None:
    """Removing a type from a feeds target breaks the source's sh:class constraint."""
    _upload_active(server, ns)
    twins = f"{server.url}/api/v1/twins"
    tag = ns[-9:-1]
    assert httpx.put(f"{twins}/b-{tag}", json={"$types": [f"{ns}Pump"]}).status_code == 201
    assert httpx.put(f"{twins}/a-{tag}", json={
        "$types": [f"{ns}Pump"],
        "properties": {f"{ns}feeds": {"@id": f"urn:twin:b-{tag}"}}}).status_code == 201
    untyped = httpx.put(f"{twins}/b-{tag}", json={"properties": {}})
    assert untyped.status_code == 422, untyped.text
    result = untyped.json()["report"]["results"][0]
    assert result["focusNode"] == f"urn:twin:a-{tag}"
    assert result["sourceConstraintComponent"].endswith("ClassConstraintComponent")


def test_graph_store_writes_are_validated(server: ServerProcess, ns: str) -> None:
    _upload_active(server, ns)
    graph = f"{ns}g"
    response = httpx.put(f"{server.url}/graphs", params={"graph": graph}, headers=TURTLE,
                         content=f"<{ns}x> a <{ns}Pump> ; <{ns}power> 1, 2 .")
    assert response.status_code == 422
    assert "MaxCountConstraintComponent" in response.text
    assert httpx.get(f"{server.url}/graphs", params={"graph": graph}).status_code == 404


def test_activation_with_impact_is_refused_unless_forced(server: ServerProcess,
                                                         ns: str) -> None:
    iri = _upload_active(server, ns, "1", max_power=100)
    twins = f"{server.url}/api/v1/twins"
    assert httpx.put(f"{twins}/h-{ns[-9:-1]}", json={
        "$types": [f"{ns}Pump"], "properties": {f"{ns}power": 80}}).status_code == 201
    stricter = _model(iri, "2", ns, max_power=60)
    assert httpx.post(f"{server.url}/api/v1/models", content=stricter,
                      headers=TURTLE).status_code == 201
    again = httpx.post(f"{server.url}/api/v1/models", content=stricter, headers=TURTLE)
    assert again.status_code == 409
    impact = httpx.get(f"{server.url}/api/v1/models/impact",
                       params={"iri": iri, "version": "2"}).json()
    assert impact["breaking"] is True and impact["violations"] == 1
    assert impact["report"]["results"][0]["focusNode"] == f"urn:twin:h-{ns[-9:-1]}"
    assert impact["replaces"]["version"] == "1"
    assert impact["compatibility"]["compatible"] is False
    assert any(c["kind"] == "constraint narrowed" and "maxInclusive" in c["detail"]
               for c in impact["compatibility"]["changes"])
    before = _head(server)
    refused = _activate(server, iri, "2")
    assert refused.status_code == 409
    assert refused.json()["impact"]["violations"] == 1
    assert _head(server) == before
    assert _activate(server, iri, "2", force=True).status_code == 400  # no reason
    forced = _activate(server, iri, "2", force=True, reason="pump h is being replaced")
    assert forced.status_code == 200, forced.text
    versions = {m["version"]: m["status"] for m in httpx.get(
        f"{server.url}/api/v1/models", params={"iri": iri}).json()["models"]}
    assert versions == {"1": "deprecated", "2": "active"}
    events = httpx.get(f"{server.url}/api/v1/events", params={"after": before}).json()["events"]
    activated = [e for e in events if e["type"] == "dev.semtwin.model.active"]
    assert activated[0]["data"]["forced"] is True
    assert activated[0]["data"]["reason"] == "pump h is being replaced"
    # the twin the forced activation left violating is still writable where the change
    # cannot affect the violation; a change the shape reads is validated, and refused while
    # the twin still violates it
    pump, merge = f"{twins}/h-{ns[-9:-1]}", {"Content-Type": "application/merge-patch+json"}
    labelled = httpx.patch(pump, headers=merge, content=json.dumps(
        {"properties": {"http://www.w3.org/2000/01/rdf-schema#label": "pump h"}}))
    assert labelled.status_code == 200, labelled.text
    assert httpx.patch(pump, headers=merge, content=json.dumps(
        {"properties": {f"{ns}power": 90}})).status_code == 422
    assert httpx.patch(pump, headers=merge, content=json.dumps(
        {"properties": {f"{ns}power": 50}})).status_code == 200
    # the model's content is served back, and an active model cannot be deleted
    content = httpx.get(f"{server.url}/api/v1/models/content",
                        params={"iri": iri, "version": "2"})
    assert content.status_code == 200 and "maxInclusive" in content.text
    assert httpx.delete(f"{server.url}/api/v1/models",
                        params={"iri": iri, "version": "2"}).status_code == 409
    # the deprecated version is still used by the twin's class: not deletable either
    assert httpx.delete(f"{server.url}/api/v1/models",
                        params={"iri": iri, "version": "1"}).status_code == 409


@pytest.mark.parametrize(("body", "status", "words"), [
    ("<a> <b> .", 400, "line 1"),
    ("<urn:m> a <http://www.w3.org/2002/07/owl#Ontology> ; "
     "<http://www.w3.org/2002/07/owl#versionInfo> \"1\" . "
     "<urn:s> <http://www.w3.org/ns/shacl#targetClass> <urn:C> ; "
     "<http://www.w3.org/ns/shacl#minCount> \"many\" .", 422, "minCount"),
    ("<urn:m2> a <http://www.w3.org/2002/07/owl#Ontology> ; "
     "<http://www.w3.org/2002/07/owl#versionInfo> \"1\" ; "
     "<http://www.w3.org/2002/07/owl#imports> <urn:nowhere> .", 422, "urn:nowhere"),
    ("<urn:m3> a <http://www.w3.org/2002/07/owl#Ontology> .", 400, "version"),
    ("<urn:m4> a <http://www.w3.org/2002/07/owl#Ontology> ; "
     "<http://www.w3.org/2002/07/owl#versionInfo> \"1\" . "
     "<urn:s4> <http://www.w3.org/ns/shacl#targetClass> <urn:C> ; "
     "<http://www.w3.org/ns/shacl#sparql> [ <http://www.w3.org/ns/shacl#select> "
     "\"SELECT $this WHERE { $this ?p }\" ] .", 422, "sh:select"),
    ("<urn:m5> a <http://www.w3.org/2002/07/owl#Ontology> ; "
     "<http://www.w3.org/2002/07/owl#versionInfo> \"1\" . "
     "<urn:s5> <http://www.w3.org/ns/shacl#targetClass> <urn:C> ; "
     "<http://www.w3.org/ns/shacl#sparql> [ <http://www.w3.org/ns/shacl#select> "
     "\"SELECT $this WHERE { $this ?p ?o MINUS { $this a <urn:D> } }\" ] .", 422, "MINUS"),
])
def test_bad_models_are_refused_and_nothing_is_stored(server: ServerProcess, body: str,
                                                      status: int, words: str) -> None:
    before = len(httpx.get(f"{server.url}/api/v1/models").json()["models"])
    response = httpx.post(f"{server.url}/api/v1/models", content=body, headers=TURTLE)
    assert response.status_code == status, response.text
    assert words in response.text
    assert len(httpx.get(f"{server.url}/api/v1/models").json()["models"]) == before


def test_validate_endpoint_writes_nothing(server: ServerProcess, ns: str) -> None:
    _upload_active(server, ns)
    before = _head(server)
    data = f"<{ns}v> a <{ns}Pump> ; <{ns}power> \"x\" . <{ns}w> a <{ns}Pump> ; <{ns}power> 3 ."
    report = httpx.post(f"{server.url}/api/v1/validate", content=data, headers=TURTLE)
    assert report.status_code == 200
    body = report.json()
    assert body["conforms"] is False
    assert {r["focusNode"] for r in body["results"]} == {f"{ns}v"}
    assert _head(server) == before
    ok = httpx.post(f"{server.url}/api/v1/validate", content=f"<{ns}w> a <{ns}Pump> .",
                    headers=TURTLE)
    assert ok.json() == {"conforms": True, "results": []}


def test_sparql_updates_are_validated_and_journaled(server: ServerProcess, ns: str) -> None:
    _upload_active(server, ns)
    update = {"Content-Type": "application/sparql-update"}
    before = _head(server)
    bad = httpx.post(f"{server.url}/sparql", headers=update, content=(
        f"INSERT DATA {{ GRAPH <{ns}g> {{ <{ns}x> a <{ns}Pump> ; <{ns}power> 1000 }} }}"))
    assert bad.status_code == 422, bad.text
    assert bad.json()["report"]["results"][0]["focusNode"] == f"{ns}x"
    assert _head(server) == before
    ask = httpx.get(f"{server.url}/sparql", params={"query": f"ASK {{ ?s <{ns}power> ?o }}"},
                    headers={"Accept": "application/sparql-results+json"})
    assert ask.json()["boolean"] is False
    ok = httpx.post(f"{server.url}/sparql", headers=update, content=(
        f"INSERT DATA {{ GRAPH <{ns}g> {{ <{ns}x> a <{ns}Pump> ; <{ns}power> 10 }} }}"))
    assert ok.status_code == 204, ok.text
    # a pattern update that would break the shape is refused too
    raise_power = httpx.post(f"{server.url}/sparql", headers=update, content=(
        f"DELETE {{ GRAPH ?g {{ ?s <{ns}power> ?p }} }} INSERT {{ GRAPH ?g {{ ?s <{ns}power> "
        f"?q }} }} WHERE {{ GRAPH ?g {{ ?s <{ns}power> ?p }} BIND(?p * 100 AS ?q) }}"))
    assert raise_power.status_code == 422
    events = httpx.get(f"{server.url}/api/v1/events", params={"after": before}).json()["events"]
    assert [e["type"] for e in events] == ["dev.semtwin.sparql.update"]
    assert events[0]["data"]["inserted"] == 2
    # the reserved graphs cannot be written through SPARQL
    reserved = httpx.post(f"{server.url}/sparql", headers=update,
                          content="DROP GRAPH <urn:semtwin:journal>")
    assert reserved.status_code == 400 and "reserved" in reserved.text


def test_the_graph_store_cannot_write_semtwins_own_graphs(server: ServerProcess,
                                                            ns: str) -> None:
    """The journal, the metadata (ETags, model status) and the model graphs are semtwin's: a
    Graph Store PUT, POST or DELETE on them is refused as through SPARQL, and changes nothing
    (else a client could rewrite the active shapes without an activation, or forge events)."""
    _upload_active(server, ns)
    twin = f"{server.url}/api/v1/twins/gsp-{ns.rstrip('#').rsplit('/', 1)[-1]}"
    assert httpx.put(twin, json={"properties": {}}).status_code == 201
    model_graph = next(m["graph"] for m in httpx.get(f"{server.url}/api/v1/models").json()[
        "models"] if m["iri"] == ns.rstrip("#"))
    before = _head(server)
    dump = {"Accept": "application/n-triples"}
    stored = httpx.get(f"{server.url}/graphs", params={"graph": model_graph}, headers=dump)
    assert stored.status_code == 200
    triple = "<http://ex.org/a> <http://ex.org/b> <http://ex.org/c> ."
    for graph in ("urn:semtwin:meta", "urn:semtwin:journal", model_graph):
        for method in ("PUT", "POST", "DELETE"):
            answer = httpx.request(method, f"{server.url}/graphs", params={"graph": graph},
                                   content=triple if method != "DELETE" else None,
                                   headers={"Content-Type": "application/n-triples"})
            assert answer.status_code == 400, (method, graph, answer.text)
            assert "reserved" in answer.json()["detail"]
    assert _head(server) == before  # no event
    assert httpx.get(twin).status_code == 200  # its ETag is still in the metadata graph
    assert httpx.get(f"{server.url}/graphs", params={"graph": model_graph},
                     headers=dump).text == stored.text


def test_deprecated_terms_are_accepted_with_a_warning(server: ServerProcess, ns: str) -> None:
    iri = ns.rstrip("#")
    model = (f"<{iri}> a <http://www.w3.org/2002/07/owl#Ontology> ; "
             f"<http://www.w3.org/2002/07/owl#versionInfo> \"1\" . "
             f"<{ns}OldPump> <http://www.w3.org/2002/07/owl#deprecated> true . "
             f"<{ns}oldPower> <http://www.w3.org/2002/07/owl#deprecated> true .")
    assert httpx.post(f"{server.url}/api/v1/models", content=model,
                      headers=TURTLE).status_code == 201
    assert _activate(server, iri, "1").status_code == 200
    response = httpx.put(f"{server.url}/api/v1/twins/old-{ns[-9:-1]}", json={
        "$types": [f"{ns}OldPump"], "properties": {f"{ns}oldPower": 3}})
    assert response.status_code == 201
    warnings = response.headers.get_list("semtwin-warning")
    assert sorted(warnings) == [f"deprecated class {ns}OldPump",
                                f"deprecated property {ns}oldPower"]
    fresh = httpx.put(f"{server.url}/api/v1/twins/new-{ns[-9:-1]}", json={"$types": [f"{ns}X"]})
    assert fresh.status_code == 201 and "semtwin-warning" not in fresh.headers


def test_several_models_upload_atomically(server: ServerProcess, ns: str) -> None:
    a, b = f"{ns}a", f"{ns}b"
    head = ("@prefix owl: <http://www.w3.org/2002/07/owl#> . "
            "@prefix sh: <http://www.w3.org/ns/shacl#> . ")
    good = head + f"""
<{a}> {{ <{a}> a owl:Ontology ; owl:versionInfo "1" ; owl:imports <{b}> . }}
<{b}> {{ <{b}> a owl:Ontology ; owl:versionInfo "1" . <{ns}Pump> a owl:Class . }}"""
    trig = {"Content-Type": "application/trig"}
    created = httpx.post(f"{server.url}/api/v1/models/batch", content=good, headers=trig)
    assert created.status_code == 201, created.text
    assert sorted(m["iri"] for m in created.json()["models"]) == [a, b]
    before = len(httpx.get(f"{server.url}/api/v1/models").json()["models"])
    bad = head + f"""
<{a}2> {{ <{a}2> a owl:Ontology ; owl:versionInfo "1" . }}
<{b}2> {{ <{b}2> a owl:Ontology ; owl:versionInfo "1" .
          <{ns}S> sh:targetNode <{ns}x> ; sh:maxCount "lots" . }}"""
    refused = httpx.post(f"{server.url}/api/v1/models/batch", content=bad, headers=trig)
    assert refused.status_code == 422 and "maxCount" in refused.text
    assert len(httpx.get(f"{server.url}/api/v1/models").json()["models"]) == before
    single = httpx.post(f"{server.url}/api/v1/models", content=good, headers=trig)
    assert single.status_code == 400 and "models/batch" in single.text


def _plain_model(iri: str, ns: str, prefix: str) -> str:
    return f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix vann: <http://purl.org/vocab/vann/> .
<{iri}> a owl:Ontology ; owl:versionInfo "1" ;
  vann:preferredNamespacePrefix "{prefix}" ; vann:preferredNamespaceUri "{ns}" .
<{ns}installedOn> a owl:DatatypeProperty ; rdfs:range xsd:date .
<{ns}servedBy> a owl:ObjectProperty .
<{ns}note> a owl:DatatypeProperty ; rdfs:range xsd:string .
<{ns}code> a owl:DatatypeProperty ; rdfs:range xsd:string .
<{ns}PumpShape> a sh:NodeShape ; sh:targetClass <{ns}Pump> ;
  sh:property [ sh:path <{ns}ratedPower> ; sh:datatype xsd:decimal ] ;
  sh:property [ sh:path <{ns}note> ; sh:datatype xsd:integer ] .
"""


def _stored(server: ServerProcess, graph: str) -> set[tuple[str, str, str]]:
    rows = httpx.get(f"{server.url}/sparql", params={
        "query": f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
    return {(r["s"]["value"], r["p"]["value"],
             (r["o"]["value"] + "^^" + r["o"].get("datatype", XSD + "string")
              if r["o"]["type"] == "literal" else "<" + r["o"]["value"] + ">")) for r in rows}


def _as_json_ld(body: dict[str, object], context: dict[str, object]
                ) -> set[tuple[str, str, str]]:
    """What an independent JSON-LD 1.1 processor (pyoxigraph's) reads from a body."""
    import orjson

    from semtwin.rdf import Literal, RdfFormat, parse

    quads = parse(orjson.dumps({"@context": context, **body}), format=RdfFormat.JSON_LD)
    return {(q.subject.value, q.predicate.value,  # type: ignore[union-attr]
             (q.object.value + "^^" + q.object.datatype.value if isinstance(q.object, Literal)
              else "<" + q.object.value + ">")) for q in quads}  # type: ignore[union-attr]


def test_the_json_ld_context_comes_from_the_active_models(server: ServerProcess, ns: str,
                                                          twin_id: str) -> None:
    """Plain JSON values under a property the models type take that type on the server, and
    an independent JSON-LD processor reading the same JSON with /api/v1/context agrees."""
    prefix = "p" + uuid.uuid4().hex[:6]
    iri = ns.rstrip("#")
    assert httpx.post(f"{server.url}/api/v1/models", content=_plain_model(iri, ns, prefix),
                      headers=TURTLE).status_code == 201
    assert _activate(server, iri, "1").status_code == 200
    context = httpx.get(f"{server.url}/api/v1/context").json()["@context"]
    assert context[prefix] == ns
    assert context[f"{ns}installedOn"] == {"@id": f"{ns}installedOn", "@type": XSD + "date"}
    assert context[f"{ns}servedBy"] == {"@id": f"{ns}servedBy", "@type": "@id"}
    assert context[f"{ns}ratedPower"]["@type"] == XSD + "decimal"
    # rdfs:range says string, the shape says integer: the models disagree, no coercion
    assert f"{ns}note" not in context

    body = {"$types": [f"{prefix}:Pump"],
            "properties": {f"{prefix}:installedOn": "2024-05-01", f"{prefix}:ratedPower": "5.5",
                           f"{prefix}:code": 3,
                           f"{prefix}:servedBy": f"urn:twin:{twin_id}-motor",
                           "rdfs:label": "Pump 1"}}
    url = f"{server.url}/api/v1/twins/{twin_id}"
    put = httpx.put(url, json=body)
    assert put.status_code == 201, put.text
    twin = f"urn:twin:{twin_id}"
    stored = _stored(server, twin)
    assert (twin, f"{ns}installedOn", f"2024-05-01^^{XSD}date") in stored
    assert (twin, f"{ns}ratedPower", f"5.5^^{XSD}decimal") in stored
    assert (twin, f"{ns}code", f"3^^{XSD}string") in stored
    assert (twin, f"{ns}servedBy", f"<urn:twin:{twin_id}-motor>") in stored
    assert _as_json_ld({"$iri": twin, **body}, context) == stored
    got = httpx.get(url).json()
    assert _as_json_ld(got, context) == stored
    # a literal the context would misread is written out explicitly
    odd = {"properties": {f"{prefix}:installedOn": {"@value": "soon"}}}
    assert httpx.put(f"{url}-odd", json=odd).status_code == 201
    got = httpx.get(f"{url}-odd").json()
    assert got["properties"][f"{ns}installedOn"] == {"@value": "soon", "@type": "xsd:string"}
    assert _as_json_ld(got, context) == _stored(server, f"{twin}-odd")
    as_ld = httpx.get(url, headers={"Accept": "application/ld+json"}).json()
    assert as_ld["@context"] == context


def test_values_the_store_normalizes_still_conform(server: ServerProcess, ns: str,
                                                   twin_id: str) -> None:
    """Oxigraph keeps "7"^^xsd:int as "7"^^xsd:integer, Virtuoso "5"^^xsd:decimal as
    xsd:integer: a twin written with such values must not fail its own model on the next
    write, nor in the impact analysis of the model it was validated against."""
    iri = ns.rstrip("#")
    model = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{iri}> a owl:Ontology ; owl:versionInfo "1" .
<{ns}PumpShape> a sh:NodeShape ; sh:targetClass <{ns}Pump> ;
  sh:property [ sh:path <{ns}stages> ; sh:datatype xsd:int ] ;
  sh:property [ sh:path <{ns}ratio> ; sh:datatype xsd:decimal ] ;
  sh:property [ sh:path <{ns}level> ; sh:datatype xsd:short ; sh:maxInclusive 10 ] ;
  sh:property [ sh:path <{ns}grade> ; sh:in ( "1"^^xsd:int "2"^^xsd:int ) ] ;
  sh:property [ sh:path <{ns}series> ; sh:hasValue "3"^^xsd:short ] .
"""
    assert httpx.post(f"{server.url}/api/v1/models", content=model,
                      headers=TURTLE).status_code == 201
    assert _activate(server, iri, "1").status_code == 200
    url = f"{server.url}/api/v1/twins/{twin_id}"
    body = {"$types": [f"{ns}Pump"], "properties": {
        f"{ns}stages": {"@value": "7", "@type": "xsd:int"},
        f"{ns}ratio": {"@value": "5", "@type": "xsd:decimal"},
        f"{ns}grade": {"@value": "1", "@type": "xsd:int"},
        f"{ns}series": {"@value": "3", "@type": "xsd:short"}}}
    assert httpx.put(url, json=body).status_code == 201
    patched = httpx.patch(url, json={"properties": {"rdfs:label": "Pump 7"}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    impact = httpx.get(f"{server.url}/api/v1/models/impact",
                       params={"iri": iri, "version": "1"}).json()
    assert not [r for r in impact["report"]["results"]
                if r["focusNode"] == f"urn:twin:{twin_id}"], impact
    # what is still wrong is still refused: not an int at all, or out of range
    wrong = httpx.patch(url, json={"properties": {
        f"{ns}stages": {"@value": "7.5", "@type": "xsd:decimal"}}},
        headers={"Content-Type": "application/merge-patch+json"})
    assert wrong.status_code == 422
    too_big = httpx.patch(url, json={"properties": {
        f"{ns}level": {"@value": "12", "@type": "xsd:short"}}},
        headers={"Content-Type": "application/merge-patch+json"})
    assert too_big.status_code == 422


def _sparql_model(ns: str) -> str:
    """The head of a model whose SPARQL queries may say ``ex:`` for ``ns``."""
    iri = ns.rstrip("#")
    return f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
<{iri}> a owl:Ontology ; owl:versionInfo "1" ;
  sh:declare [ sh:prefix "ex" ; sh:namespace "{ns}" ] ."""


def test_sparql_constraints_gate_writes_and_run_on_validate_and_impact(
        server: ServerProcess, ns: str, twin_id: str) -> None:
    """SHACL-SPARQL on every path: POST /validate (the data on its own), writes (on the
    store as the change would leave it, for the focus nodes the change can reach, also
    through another twin), and the impact of a model on the twins already there."""
    iri = ns.rstrip("#")
    model = _sparql_model(ns) + f"""
<{ns}OneMotorShape> a sh:NodeShape ; sh:targetClass <{ns}Pump> ;
  sh:sparql [ sh:prefixes <{iri}> ; sh:message "{{$this}} drives {{?n}} motors" ;
    sh:select '''SELECT $this (COUNT(?m) AS ?n) WHERE {{ $this ex:drives ?m }}
                 GROUP BY $this HAVING (COUNT(?m) > 1)''' ] ;
  sh:sparql [ sh:prefixes <{iri}> ; sh:message "{{$this}} drives retired {{?value}}" ;
    sh:select '''SELECT $this ?value WHERE {{ $this ex:drives ?value .
                 ?value ex:status "retired" }}''' ] .
"""
    up = httpx.post(f"{server.url}/api/v1/models", content=model, headers=TURTLE)
    assert up.status_code == 201, up.text
    assert "warnings" not in up.json()  # both queries hang on $this: evaluated everywhere
    # a pump written before the model is active: the impact analysis must find it
    early = f"{twin_id}-early"
    assert httpx.put(f"{server.url}/api/v1/twins/{early}", json={
        "$types": [f"{ns}Pump"], "properties": {f"{ns}drives": [
            {"@id": f"{ns}m8"}, {"@id": f"{ns}m9"}]}}).status_code == 201
    impact = httpx.get(f"{server.url}/api/v1/models/impact",
                       params={"iri": iri, "version": "1"}).json()
    assert "unsupported" not in impact["report"]
    assert [(r["focusNode"], r["message"]) for r in impact["report"]["results"]] == [
        (f"urn:twin:{early}", f"urn:twin:{early} drives 2 motors")]
    assert _activate(server, iri, "1", force=True, reason="test").status_code == 200

    data = (f"<{ns}p1> a <{ns}Pump> ; <{ns}drives> <{ns}m1>, <{ns}m2> . "
            f"<{ns}p2> a <{ns}Pump> ; <{ns}drives> <{ns}m3> .")
    report = httpx.post(f"{server.url}/api/v1/validate", content=data, headers=TURTLE).json()
    assert report["conforms"] is False
    assert [(r["focusNode"], r["message"], r["sourceConstraintComponent"])
            for r in report["results"]] == [
        (f"{ns}p1", f"{ns}p1 drives 2 motors",
         "http://www.w3.org/ns/shacl#SPARQLConstraintComponent")]

    head = _head(server)
    url = f"{server.url}/api/v1/twins/{twin_id}"
    refused = httpx.put(url, json={"$types": [f"{ns}Pump"], "properties": {
        f"{ns}drives": [{"@id": f"urn:twin:{twin_id}-m1"}, {"@id": f"urn:twin:{twin_id}-m2"}]}})
    assert refused.status_code == 422, refused.text
    results = refused.json()["report"]["results"]
    assert [(r["focusNode"], r["message"]) for r in results] == [
        (f"urn:twin:{twin_id}", f"urn:twin:{twin_id} drives 2 motors")]
    assert httpx.get(url).status_code == 404 and _head(server) == head
    motor = f"{server.url}/api/v1/twins/{twin_id}-m1"
    assert httpx.put(motor, json={"properties": {f"{ns}status": "running"}}).status_code == 201
    assert httpx.put(url, json={"$types": [f"{ns}Pump"], "properties": {
        f"{ns}drives": {"@id": f"urn:twin:{twin_id}-m1"}}}).status_code == 201
    # retiring the motor breaks the pump that drives it: a write to another twin
    retired = httpx.patch(motor, json={"properties": {f"{ns}status": "retired"}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert retired.status_code == 422, retired.text
    assert [(r["focusNode"], r["value"]) for r in retired.json()["report"]["results"]] == [
        (f"urn:twin:{twin_id}", f"urn:twin:{twin_id}-m1")]
    assert httpx.get(motor).json()["properties"][f"{ns}status"] == "running"
    # once the pump drives another motor, the old one may retire
    assert httpx.patch(url, json={"properties": {f"{ns}drives": {"@id": f"{ns}m7"}}},
                       headers={"Content-Type": "application/merge-patch+json"}
                       ).status_code == 200
    assert httpx.patch(motor, json={"properties": {f"{ns}status": "retired"}},
                       headers={"Content-Type": "application/merge-patch+json"}
                       ).status_code == 200


def test_unbounded_sparql_constraints_are_reported_not_passed(
        server: ServerProcess, ns: str, twin_id: str) -> None:
    """A query with a pattern no walk from $this reaches has no footprint: the model says
    so at upload, a write says it was not evaluated, and the impact lists it unsupported."""
    iri = ns.rstrip("#")
    model = _sparql_model(ns) + f"""
<{ns}UniqueSerialShape> a sh:NodeShape ; sh:targetClass <{ns}Pump> ;
  sh:sparql [ sh:prefixes <{iri}> ;
    sh:select '''SELECT $this WHERE {{ $this ex:serial ?s .
                 {{ ?other ex:serial ?t }} UNION {{ ?other ex:code ?t }}
                 FILTER (?other != $this && ?s = ?t) }}''' ] .
"""
    up = httpx.post(f"{server.url}/api/v1/models", content=model, headers=TURTLE)
    assert up.status_code == 201, up.text
    assert any("SHACL-SPARQL" in w for w in up.json()["warnings"])
    assert _activate(server, iri, "1").status_code == 200
    written = httpx.put(f"{server.url}/api/v1/twins/{twin_id}", json={
        "$types": [f"{ns}Pump"], "properties": {f"{ns}serial": "S1"}})
    assert written.status_code == 201
    assert "SPARQL-based constraint was not evaluated" in written.headers["semtwin-warning"]
    impact = httpx.get(f"{server.url}/api/v1/models/impact",
                       params={"iri": iri, "version": "1"}).json()
    assert impact["report"].get("unsupported") == ["sparql"]
