"""The OpenAPI document on a real server: every operation has an example, operation ids are
unique, and the examples are true: the request examples of the twin API are sent as they
are documented, and every documented response example has the shape (its keys, and the
keys of its first list items) of what the server answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import ServerProcess, free_port

METHODS = ("get", "put", "post", "patch", "delete", "head")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("openapi")
    process = ServerProcess(store=str(directory / "db"), port=free_port(),
                            log_path=directory / "server.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def spec(server: ServerProcess) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.url}/openapi.json").json()
    return document


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in METHODS:
                yield method, path, operation


def _has_example(value: Any) -> bool:
    if isinstance(value, dict):
        return "example" in value or "examples" in value or any(
            _has_example(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_example(v) for v in value)
    return False


def test_every_operation_has_an_example_and_a_unique_id(spec: dict[str, Any]) -> None:
    operations = list(_operations(spec))
    assert len(operations) >= 50
    missing = [f"{m.upper()} {p}" for m, p, op in operations if not _has_example(op)]
    assert missing == []
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    # creations are documented with their real status
    assert "201" in spec["paths"]["/api/v1/twins"]["post"]["responses"]
    assert {"200", "201"} <= set(spec["paths"]["/api/v1/twins/{twin_id}"]["put"]["responses"])
    assert "200" not in spec["paths"]["/api/v1/twins"]["post"]["responses"]
    # parameters the routes read from the query string are documented
    names = {p["name"] for p in spec["paths"]["/api/v1/export/dtdl"]["get"]["parameters"]}
    assert {"model", "version"} <= names


def _example(spec: dict[str, Any], method: str, path: str, media: str | None = None,
             response: str | None = None) -> Any:
    operation = spec["paths"][path][method]
    if response is not None:
        content = operation["responses"][response]["content"]
    else:
        content = operation["requestBody"]["content"]
    return content[media or next(iter(content))]["example"]


def _param(spec: dict[str, Any], method: str, path: str, name: str) -> Any:
    return next(p["example"] for p in spec["paths"][path][method]["parameters"]
                if p["name"] == name)


def _shape(value: Any) -> Any:
    """Keys of an object and of the first item of each list in it (one level down)."""
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, dict):
        return {k: (sorted(v[0]) if isinstance(v, list) and v and isinstance(v[0], dict)
                    else None) for k, v in value.items()}
    return type(value).__name__


def _same_shape(spec: dict[str, Any], method: str, path: str, status: str,
                answer: httpx.Response) -> None:
    assert answer.status_code == int(status), answer.text
    documented = _example(spec, method, path, "application/json", response=status)
    assert _shape(documented) == _shape(answer.json()), f"{method.upper()} {path}"


def test_twin_api_examples_work_as_documented(server: ServerProcess,
                                              spec: dict[str, Any]) -> None:
    base = f"{server.url}/api/v1"
    # the examples' twins: vav-1 is the target the AHU example feeds
    assert httpx.put(f"{base}/twins/vav-1", json={"$types": ["brick:VAV"], "properties": {
        "rdfs:label": "VAV 1"}}).status_code == 201
    twin_path = "/api/v1/twins/{twin_id}"
    twin_id = _param(spec, "put", twin_path, "twin_id")
    put = httpx.put(f"{base}/twins/{twin_id}", json=_example(spec, "put", twin_path))
    _same_shape(spec, "put", twin_path, "201", put)
    _same_shape(spec, "get", twin_path, "200", httpx.get(f"{base}/twins/{twin_id}"))
    patched = httpx.patch(f"{base}/twins/{twin_id}", headers={
        "Content-Type": "application/json-patch+json", "If-Match": put.headers["etag"]},
        json=_example(spec, "patch", twin_path, "application/json-patch+json"))
    _same_shape(spec, "patch", twin_path, "200", patched)
    merged = httpx.patch(f"{base}/twins/{twin_id}", headers={
        "Content-Type": "application/merge-patch+json"},
        json=_example(spec, "patch", twin_path, "application/merge-patch+json"))
    assert merged.status_code == 200 and merged.json()["properties"]["rdfs:label"] == "AHU one"
    created = httpx.post(f"{base}/twins", json=_example(spec, "post", "/api/v1/twins"))
    _same_shape(spec, "post", "/api/v1/twins", "201", created)
    listed = httpx.get(f"{base}/twins", params={
        "type": _param(spec, "get", "/api/v1/twins", "type"), "limit": 100})
    _same_shape(spec, "get", "/api/v1/twins", "200", listed)

    rel_path = "/api/v1/twins/{twin_id}/relationships/{rel_id}"
    rel_id = _param(spec, "put", rel_path, "rel_id")
    rel = httpx.put(f"{base}/twins/{twin_id}/relationships/{rel_id}",
                    json=_example(spec, "put", rel_path))
    _same_shape(spec, "put", rel_path, "201", rel)
    _same_shape(spec, "get", rel_path, "200",
                httpx.get(f"{base}/twins/{twin_id}/relationships/{rel_id}"))
    _same_shape(spec, "get", "/api/v1/twins/{twin_id}/relationships", "200",
                httpx.get(f"{base}/twins/{twin_id}/relationships"))
    _same_shape(spec, "get", "/api/v1/twins/{twin_id}/incoming", "200",
                httpx.get(f"{base}/twins/vav-1/incoming"))
    _same_shape(spec, "get", "/api/v1/twins/{twin_id}/neighbors", "200",
                httpx.get(f"{base}/twins/{twin_id}/neighbors", params={"depth": 2}))
    _same_shape(spec, "get", "/api/v1/paths", "200",
                httpx.get(f"{base}/paths", params={"from": twin_id, "to": "vav-1"}))
    state_path = "/api/v1/twins/{twin_id}/state"
    _same_shape(spec, "post", state_path, "200", httpx.post(
        f"{base}/twins/{_param(spec, 'post', state_path, 'twin_id')}/state",
        json=_example(spec, "post", state_path)))
    batch = httpx.post(f"{base}/batch", json=_example(spec, "post", "/api/v1/batch"))
    _same_shape(spec, "post", "/api/v1/batch", "200", batch)
    assert [r["status"] for r in batch.json()["results"]] == [201, 201]
    _same_shape(spec, "get", "/api/v1/events", "200",
                httpx.get(f"{base}/events", params={"after": 0, "limit": 5}))
    assert httpx.delete(f"{base}/twins/{twin_id}", params={"cascade": True}).status_code == 204


def test_governance_standards_and_grounding_examples_match(
        server: ServerProcess, spec: dict[str, Any]) -> None:
    base = f"{server.url}/api/v1"
    assert httpx.put(f"{base}/twins/vav-1", json={"$types": ["brick:VAV"], "properties": {
        "rdfs:label": "VAV 1"}}).status_code in (200, 201)
    _same_shape(spec, "get", "/healthz", "200", httpx.get(f"{server.url}/healthz"))
    _same_shape(spec, "get", "/api/v1/models", "200", httpx.get(f"{base}/models"))
    params = {"iri": _param(spec, "post", "/api/v1/models", "iri"),
              "version": _param(spec, "post", "/api/v1/models", "version")}
    upload = httpx.post(f"{base}/models", params=params, headers={"Content-Type": "text/turtle"},
                        content=_example(spec, "post", "/api/v1/models", "text/turtle"))
    _same_shape(spec, "post", "/api/v1/models", "201", upload)
    impact = httpx.get(f"{base}/models/impact", params=params)
    assert impact.status_code == 200
    assert set(impact.json()) == set(_example(spec, "get", "/api/v1/models/impact",
                                              "application/json", response="200"))
    _same_shape(spec, "post", "/api/v1/models/status", "200", httpx.post(
        f"{base}/models/status", params=params,
        json=_example(spec, "post", "/api/v1/models/status")))
    validated = httpx.post(f"{base}/validate", headers={"Content-Type": "text/turtle"},
                           content="<urn:twin:feeds-1> a <https://semtwin.dev/ns#Relationship> .")
    _same_shape(spec, "post", "/api/v1/validate", "200", validated)
    imported = httpx.post(f"{base}/import/dtdl", params={"activate": "true"},
                          json=_example(spec, "post", "/api/v1/import/{fmt}"))
    _same_shape(spec, "post", "/api/v1/import/{fmt}", "201", imported)
    exported = httpx.get(f"{base}/export/dtdl", params={
        "model": _param(spec, "get", "/api/v1/export/dtdl", "model")})
    _same_shape(spec, "get", "/api/v1/export/dtdl", "200", exported)
    _same_shape(spec, "post", "/api/v1/ground/check", "200", httpx.post(
        f"{base}/ground/check", json=_example(spec, "post", "/api/v1/ground/check")))
    resolved = httpx.get(f"{base}/ground/resolve", params={"text": "VAV 1 airflow", "k": 3})
    _same_shape(spec, "get", "/api/v1/ground/resolve", "200", resolved)
    described = httpx.get(f"{base}/ground/describe", params={"iri": "urn:twin:vav-1"})
    _same_shape(spec, "get", "/api/v1/ground/describe", "200", described)
    cite = described.json()["facts"][0]["cite"]
    _same_shape(spec, "get", "/api/v1/ground/cite", "200",
                httpx.get(f"{base}/ground/cite", params={"key": cite}))
    _same_shape(spec, "get", "/api/v1/ground/schema", "200",
                httpx.get(f"{base}/ground/schema", params={
                    "classes": "https://brickschema.org/schema/Brick#VAV"}))
    _same_shape(spec, "post", "/api/v1/ground/query", "200", httpx.post(
        f"{base}/ground/query", content=_example(spec, "post", "/api/v1/ground/query")))
    rooms = httpx.get(f"{server.url}/sparql", params={
        "query": _param(spec, "get", "/sparql", "query")},
        headers={"Accept": "application/sparql-results+json"})
    assert rooms.status_code == 200
    assert rooms.json()["head"] == _example(spec, "get", "/sparql", response="200")["head"]
