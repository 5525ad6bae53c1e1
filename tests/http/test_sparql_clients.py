"""Standard SPARQL clients against the real server process on loopback."""

from __future__ import annotations

import concurrent.futures
import csv
import io
import uuid

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
from SPARQLWrapper import CSV, JSON, POST, TURTLE, XML, SPARQLWrapper
from tests.conftest import ServerProcess

EX = "http://example.org/clients/"


@pytest.fixture
def graph_iri(server: ServerProcess) -> str:
    """A fresh graph of AHU and VAV twins; earlier tests' graphs are dropped first."""
    httpx.post(f"{server.url}/sparql", data={"update": "DROP ALL"}).raise_for_status()
    iri = f"{EX}{uuid.uuid4()}"
    turtle = f"""@prefix ex: <{EX}> .
    ex:ahu1 a ex:AirHandlingUnit ; ex:name "AHU 1" ; ex:feeds ex:vav1, ex:vav2 .
    ex:vav1 a ex:VAV ; ex:name "VAV 1" .
    ex:vav2 a ex:VAV ; ex:name "VAV 2" .
    """
    response = httpx.put(f"{server.url}/graphs", params={"graph": iri}, content=turtle,
                         headers={"Content-Type": "text/turtle"})
    assert response.status_code == 201
    return iri


def wrapper(server: ServerProcess) -> SPARQLWrapper:
    client = SPARQLWrapper(f"{server.url}/sparql", updateEndpoint=f"{server.url}/sparql")
    return client


SELECT_VAVS = (
    f"SELECT ?v ?name WHERE {{ <{EX}ahu1> <{EX}feeds> ?v . ?v <{EX}name> ?name }} ORDER BY ?v"
)


def test_select_json(server: ServerProcess, graph_iri: str) -> None:
    client = wrapper(server)
    client.setQuery(SELECT_VAVS)
    client.setReturnFormat(JSON)
    data = client.query().convert()
    assert data["head"]["vars"] == ["v", "name"]
    names = [b["name"]["value"] for b in data["results"]["bindings"]]
    assert names == ["VAV 1", "VAV 2"]


def test_select_xml(server: ServerProcess, graph_iri: str) -> None:
    client = wrapper(server)
    client.setQuery(SELECT_VAVS)
    client.setReturnFormat(XML)
    document = client.query().convert()
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]
    assert literals == ["VAV 1", "VAV 2"]


def test_select_csv(server: ServerProcess, graph_iri: str) -> None:
    client = wrapper(server)
    client.setQuery(SELECT_VAVS)
    client.setReturnFormat(CSV)
    rows = list(csv.reader(io.StringIO(client.query().convert().decode())))
    assert rows == [["v", "name"], [f"{EX}vav1", "VAV 1"], [f"{EX}vav2", "VAV 2"]]


def test_construct_turtle(server: ServerProcess, graph_iri: str) -> None:
    client = wrapper(server)
    client.setQuery(f"CONSTRUCT {{ ?v a <{EX}Fed> }} WHERE {{ <{EX}ahu1> <{EX}feeds> ?v }}")
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.query().convert(), format="turtle")
    assert set(graph.subjects()) == {URIRef(EX + "vav1"), URIRef(EX + "vav2")}


def test_ask(server: ServerProcess, graph_iri: str) -> None:
    client = wrapper(server)
    client.setQuery(f"ASK {{ <{EX}vav1> a <{EX}VAV> }}")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True
    client.setQuery(f"ASK {{ <{EX}vav1> a <{EX}AirHandlingUnit> }}")
    assert client.query().convert()["boolean"] is False


def test_update_then_read_your_write(server: ServerProcess, graph_iri: str) -> None:
    client = wrapper(server)
    client.setMethod(POST)
    client.setQuery(
        f"INSERT DATA {{ GRAPH <{graph_iri}> {{ <{EX}vav3> a <{EX}VAV> ; <{EX}name> 'VAV 3' }} }}"
    )
    client.query()
    reader = wrapper(server)
    reader.setQuery(
        f"SELECT (COUNT(?v) AS ?n) WHERE {{ GRAPH <{graph_iri}> {{ ?v a <{EX}VAV> }} }}"
    )
    reader.setReturnFormat(JSON)
    count = reader.query().convert()["results"]["bindings"][0]["n"]["value"]
    assert count == "3"


def test_concurrent_read_modify_write_updates_take_turns(server: ServerProcess,
                                                        graph_iri: str) -> None:
    """Clients incrementing one counter at once: every increment counts, as in a store
    that runs updates one after the other (Fuseki, Oxigraph server)."""
    counter = f"GRAPH <{graph_iri}> {{ <{EX}ahu1> <{EX}runs> ?n }}"

    def run(update: str) -> None:
        client = wrapper(server)
        client.setMethod(POST)
        client.setQuery(update)
        client.query()

    run(f"INSERT DATA {{ GRAPH <{graph_iri}> {{ <{EX}ahu1> <{EX}runs> 0 }} }}")
    increment = (f"DELETE {{ {counter} }} INSERT {{ GRAPH <{graph_iri}> {{ <{EX}ahu1> "
                 f"<{EX}runs> ?m }} }} WHERE {{ {counter} BIND(?n + 1 AS ?m) }}")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(run, [increment] * 40))
    reader = wrapper(server)
    reader.setQuery(f"SELECT ?n WHERE {{ {counter} }}")
    reader.setReturnFormat(JSON)
    values = [b["n"]["value"] for b in reader.query().convert()["results"]["bindings"]]
    assert values == ["40"]


def test_rdflib_sparql_update_store(server: ServerProcess, graph_iri: str) -> None:
    store = SPARQLUpdateStore(query_endpoint=f"{server.url}/sparql",
                              update_endpoint=f"{server.url}/sparql", autocommit=True)
    graph = Graph(store, identifier=URIRef(graph_iri))
    graph.add((URIRef(EX + "vav9"), URIRef(EX + "name"), Literal("VAV 9")))
    names = {str(o) for o in graph.objects(URIRef(EX + "vav9"), URIRef(EX + "name"))}
    assert names == {"VAV 9"}
    graph.remove((URIRef(EX + "vav9"), None, None))
    assert list(graph.objects(URIRef(EX + "vav9"), None)) == []
    store.close()


def test_repeated_queries_answer_the_same(server: ServerProcess, graph_iri: str) -> None:
    """A query proven fast is answered by the inline fast path from its second run on;
    results, formats and the base IRI must not change."""
    query = f"SELECT ?v ?rel WHERE {{ <{EX}ahu1> <{EX}feeds> ?v BIND(<rel> AS ?rel) }} ORDER BY ?v"
    answers = []
    for _ in range(6):
        response = httpx.get(f"{server.url}/sparql", params={"query": query},
                             headers={"Accept": "text/csv"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        answers.append(response.text)
    assert len(set(answers)) == 1
    rows = list(csv.reader(io.StringIO(answers[0])))
    assert rows[1] == [f"{EX}vav1", f"{server.url}/rel"]
