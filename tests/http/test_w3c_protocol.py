"""The W3C SPARQL 1.1 Protocol and Graph Store Protocol tests, run against the real server.

Paths in the manifests start with ``/sparql/`` and ``/gsp``; they are rewritten to ``/sparql``
and ``/graphs``. The datasets the protocol tests name (``http://kasei.us/.../dataN.rdf``) are
loaded from ``data1.nt`` ... ``data3.nt`` into graphs of those names before each test, since
the server never dereferences IRIs from the network.
"""

from __future__ import annotations

import httpx
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from tests.conftest import SHARED_DATA, ServerProcess, shared_data
from tests.http.w3c_manifest import ManifestTest, load_manifest

SPARQL_DIR = SHARED_DATA / "sparql"
KASEI = "http://kasei.us/2009/09/sparql/data/"
TABULAR = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values")
RDF_TYPES = ("text/turtle", "application/rdf+xml", "application/n-triples", "text/plain",
             "application/ld+json")


def _tests(*relative: str) -> list[ManifestTest]:
    path = SPARQL_DIR.joinpath(*relative)
    return load_manifest(path) if path.exists() else []


PROTOCOL = _tests("w3c-protocol", "manifest.ttl")
GSP = _tests("w3c-graph-store-protocol", "manifest-indirect.ttl") + _tests(
    "w3c-graph-store-protocol", "manifest-direct.ttl")


def _rewrite(path: str) -> str:
    if path.startswith("/sparql/"):
        return "/sparql" + path[len("/sparql/"):]
    if path.startswith("/gsp"):
        return "/graphs" + path[len("/gsp"):]
    return path


def _reset(server: ServerProcess) -> None:
    httpx.post(f"{server.url}/sparql", content="DROP ALL",
               headers={"Content-Type": "application/sparql-update"}).raise_for_status()
    folder = shared_data("sparql", "w3c-protocol")
    for n in (1, 2, 3):
        data = (folder / f"data{n}.nt").read_bytes()
        httpx.put(f"{server.url}/graphs", params={"graph": f"{KASEI}data{n}.rdf"},
                  content=data, headers={"Content-Type": "application/n-triples"},
                  ).raise_for_status()


def _check_boolean(response: httpx.Response, expected: bool) -> None:
    ctype = response.headers.get("content-type", "")
    if "json" in ctype:
        assert response.json()["boolean"] is expected
    else:
        assert f"<boolean>{'true' if expected else 'false'}</boolean>" in response.text


def run_manifest_test(server: ServerProcess, test: ManifestTest) -> None:
    _reset(server)
    variables: dict[str, str] = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for request in test.requests:
            path = request.path
            for name, value in variables.items():
                path = path.replace(name, value)
            url = _rewrite(path)
            body = request.body.encode(request.encoding.lower()) if request.body else None
            response = client.request(request.method, url, content=body,
                                      headers=request.headers)
            expected = request.expected
            assert expected.status_ok(response.status_code), (
                f"{request.method} {url}: status {response.status_code}, expected "
                f"{expected.statuses}: {response.text[:300]}"
            )
            ctype = response.headers.get("content-type", "")
            if expected.boolean is not None:
                _check_boolean(response, expected.boolean)
            if expected.result_format == "tabular":
                assert ctype.startswith(TABULAR), ctype
            if expected.result_format == "RDF":
                assert ctype.startswith(RDF_TYPES), ctype
            if expected.content_type and request.method != "HEAD":
                assert ctype.split(";")[0] == expected.content_type.split(";")[0]
            if expected.body and expected.body.strip() and request.method == "GET":
                got = Graph().parse(data=response.text, format="turtle")
                want = Graph().parse(data=expected.body, format="turtle")
                assert isomorphic(got, want), response.text
            if expected.location_variable:
                variables[expected.location_variable] = response.headers["location"]


@pytest.mark.parametrize("test", PROTOCOL, ids=[t.iri.rsplit("#", 1)[-1] for t in PROTOCOL])
def test_sparql_protocol(server: ServerProcess, test: ManifestTest) -> None:
    run_manifest_test(server, test)


@pytest.mark.parametrize("test", GSP, ids=[t.iri.rsplit("#", 1)[-1] for t in GSP])
def test_graph_store_protocol(server: ServerProcess, test: ManifestTest) -> None:
    run_manifest_test(server, test)


def test_manifests_present() -> None:
    """The suites above are collected from the shared data; fail loudly if they vanish."""
    shared_data("sparql")
    assert len(PROTOCOL) == 34
    assert len(GSP) == 13


def test_deprecated_http_rdf_update_manifest_is_prose_only() -> None:
    """``w3c-http-rdf-update`` is deprecated in favour of the GSP manifests and encodes its
    requests only as Markdown comments, so it is not run; this checks that is still so."""
    text = (shared_data("sparql", "w3c-http-rdf-update") / "manifest.ttl").read_text()
    assert "deprecated in favor of the tests in ../graph-store-protocol" in text
    assert "ht:requests" not in text

