"""Read the W3C SPARQL Protocol / Graph Store Protocol manifests (ht: requests, mf: results)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")

STATUS_NAMES = {"OK": 200, "Created": 201, "NoContent": 204, "NotFound": 404}


@dataclass
class ExpectedResponse:
    statuses: list[str]
    """Each an exact code ("201") or a class ("2xx")."""
    boolean: bool | None = None
    result_format: str | None = None
    content_type: str | None = None
    body: str | None = None
    location_variable: str | None = None

    def status_ok(self, status: int) -> bool:
        return any(str(status) == s or (s.endswith("xx") and str(status)[0] == s[0])
                   for s in self.statuses)


@dataclass
class ManifestRequest:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    encoding: str = "UTF-8"
    expected: ExpectedResponse = field(default_factory=lambda: ExpectedResponse(["2xx"]))


@dataclass
class ManifestTest:
    name: str
    iri: str
    requests: list[ManifestRequest]
    requires: list[str]


def _status(node: Node) -> str:
    local = str(node).rsplit("#", 1)[-1]
    if local.startswith("StatusCode"):
        return local.removeprefix("StatusCode")
    return str(STATUS_NAMES[local])


def _headers(graph: Graph, node: Node | None) -> dict[str, str]:
    if node is None:
        return {}
    headers = {}
    for header in Collection(graph, node):
        name = str(graph.value(header, HT.fieldName))
        headers[name.lower()] = str(graph.value(header, HT.fieldValue))
    return headers


def load_manifest(path: Path) -> list[ManifestTest]:
    graph = Graph().parse(path, format="turtle")
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    entries = Collection(graph, graph.value(manifest, MF.entries))
    tests = []
    for entry in entries:
        action = graph.value(entry, MF.action)
        requests = []
        for req in Collection(graph, graph.value(action, HT.requests)):
            body_node = graph.value(req, HT.body)
            resp = graph.value(req, HT.resp)
            body = graph.value(resp, HT.body) if resp is not None else None
            expected = ExpectedResponse(
                statuses=[_status(s) for s in graph.objects(resp, MF.expectedStatus)],
                boolean=(graph.value(resp, MF.expectedBoolean).toPython()
                         if graph.value(resp, MF.expectedBoolean) is not None else None),
                result_format=(str(graph.value(resp, MF.expectedFormat))
                               if graph.value(resp, MF.expectedFormat) is not None else None),
                content_type=_headers(graph, graph.value(resp, HT.headers)).get("content-type"),
                body=str(graph.value(body, CNT.chars)) if body is not None else None,
                location_variable=(str(graph.value(resp, MF.expectedLocation))
                                   if graph.value(resp, MF.expectedLocation) else None),
            )
            requests.append(ManifestRequest(
                method=str(graph.value(req, HT.methodName)),
                path=str(graph.value(req, HT.absolutePath)),
                headers=_headers(graph, graph.value(req, HT.headers)),
                body=(str(graph.value(body_node, CNT.chars)) if body_node is not None else None),
                encoding=(str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
                          if body_node is not None else "UTF-8"),
                expected=expected,
            ))
        tests.append(ManifestTest(
            name=str(graph.value(entry, MF.name)),
            iri=str(entry),
            requests=requests,
            requires=[str(r).rsplit("#", 1)[-1] for r in graph.objects(entry, MF.requires)],
        ))
    return tests


__all__ = ["ManifestTest", "URIRef", "load_manifest"]
