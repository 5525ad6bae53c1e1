"""The engine-side deadline guard (ADR 0002): guarded queries mean what they meant, and the
guard is reached while a cross product joins, not only while it scans."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from semtwin.deadline import Deadline
from semtwin.errors import QueryTimeout
from semtwin.rdf import DefaultGraph, Literal, NamedNode, Quad
from semtwin.sparqltext import variables
from semtwin.store import AskResult, GraphResult, SelectResult
from semtwin.store.embedded import EmbeddedStore

EX = "http://example.org/"
GUARD = ox.NamedNode("urn:semtwin:fn:deadline")
XSD_INT = NamedNode("http://www.w3.org/2001/XMLSchema#integer")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("guard") / "db")
    graph = NamedNode(EX + "g")
    quads = []
    for i in range(60):
        twin = NamedNode(f"{EX}t{i}")
        quads += [
            Quad(twin, NamedNode(EX + "kind"), NamedNode(f"{EX}K{i % 4}"), graph),
            Quad(twin, NamedNode(EX + "v"), Literal(str(i % 7), datatype=XSD_INT), graph),
            Quad(twin, NamedNode(EX + "next"), NamedNode(f"{EX}t{(i + 1) % 60}"), DefaultGraph()),
        ]
        if i % 3 == 0:
            quads.append(Quad(twin, NamedNode(EX + "label"), Literal(f"twin {i}"), graph))
    store.add_quads(quads)
    return store


P = f"PREFIX : <{EX}> "
QUERIES = [  # (``CONSTRUCT WHERE { }`` forbids FILTER: it runs with the row-level checks only)
    "SELECT ?s ?v WHERE { ?s :v ?v } ORDER BY ?s",
    "SELECT ?s ?l WHERE { ?s :kind :K1 OPTIONAL { ?s :label ?l } } ORDER BY ?s",
    "SELECT ?s ?d WHERE { ?s :v ?v BIND(?v * 2 AS ?d) FILTER(?d > 6) } ORDER BY ?s",
    "SELECT ?k (COUNT(*) AS ?n) (AVG(?v) AS ?m) WHERE { ?s :kind ?k ; :v ?v } "
    "GROUP BY ?k HAVING (COUNT(*) > 3) ORDER BY ?k",
    "SELECT ?s ?n WHERE { ?s :kind :K2 { SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?p ?o } "
    "GROUP BY ?s } } ORDER BY ?s",
    "SELECT ?s WHERE { ?s :kind ?k MINUS { ?s :label ?l } } ORDER BY ?s",
    "SELECT ?s WHERE { ?s :kind ?k FILTER NOT EXISTS { ?s :label ?l } } ORDER BY ?s",
    "SELECT ?s ?k WHERE { VALUES ?k { :K0 :K3 } ?s :kind ?k } ORDER BY ?s",
    "SELECT ?s ?e WHERE { ?s :next/:next ?e } ORDER BY ?s",
    "SELECT ?s WHERE { { ?s :kind :K0 } UNION { ?s :label ?l } } ORDER BY ?s",
    "SELECT ?g ?s WHERE { GRAPH ?g { ?s :label ?l } } ORDER BY ?s",
    "SELECT $s ?x1 WHERE { $s :v ?x1 . ?s :v 3 } ORDER BY ?s",
    "SELECT * { ?s :next ?o } ORDER BY ?s",
    "ASK { ?s :label \"twin 3\" }",
    "ASK { ?s :label \"no such twin\" }",
    "CONSTRUCT { ?s :again ?v } WHERE { ?s :v ?v FILTER(?v = 5) }",
    "DESCRIBE ?s WHERE { ?s :label \"twin 9\" }",
]


def _answer(result: object) -> object:
    if isinstance(result, SelectResult):
        return list(result.rows)
    if isinstance(result, AskResult):
        return result.value
    assert isinstance(result, GraphResult)
    return sorted(str(triple) for triple in result.triples)


@pytest.mark.parametrize("query", QUERIES)
def test_a_guarded_query_parses_and_answers_as_written(store: EmbeddedStore, query: str) -> None:
    plain = _answer(store.query(P + query))
    guarded_text = store._guarded_text(P + query)
    assert "urn:semtwin:fn:deadline" in guarded_text
    # the guarded text is valid SPARQL to the engine (else the store would run the query
    # unguarded, without a deadline)
    store._store.query(guarded_text, custom_functions={GUARD: lambda *_: ox.Literal(True)})
    assert _answer(store.query(P + query, deadline=Deadline(60))) == plain
    assert plain not in ([], None)


def test_assignment_targets_are_not_mentioned_before_their_assignment() -> None:
    names = variables("SELECT ?s (COUNT(*) AS ?n) WHERE { ?s :v ?v BIND(?v AS ?w) "
                      "FILTER(?w > 1) } GROUP BY ?s", limit=64)
    assert names == ["s", "v"]
    assert variables("SELECT ?a.?b WHERE { ?a ?b ?c. }", limit=2) == ["a", "b"]


class _DeadlineAfterCalls(Deadline):
    """A deadline that passes at the engine's ``calls``-th look at it: a clock that only
    moves while the engine works, so the test does not depend on this machine's speed."""

    def __init__(self, calls: int) -> None:
        super().__init__(seconds=3600)
        self.calls_left = calls

    def expired(self) -> bool:
        self.calls_left -= 1
        return self.calls_left < 0


def test_the_guard_fires_while_a_cross_product_joins(tmp_path: Path) -> None:
    """Over 120 triples a three-way cross product is 1.7 M joined rows; its scans end in a
    millisecond. The variable-free guard is evaluated at the scans (about 20 sampled calls
    here); the guard that mentions the group's variables waits for the join, so a deadline
    passing mid-join is seen (about 170 more). Without it, a runaway join's deadline went
    unseen by the engine for 2 to 20 s on the demo data."""
    store = EmbeddedStore(tmp_path / "db")
    store.add_quads([Quad(NamedNode(f"{EX}s{i}"), NamedNode(EX + "p"), Literal(str(i)),
                          DefaultGraph()) for i in range(120)])
    cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    unhurried = _DeadlineAfterCalls(10**9)
    result = store.query(cross, deadline=unhurried)
    assert isinstance(result, SelectResult)
    (count,) = result.rows
    assert count[0] == Literal(str(120**3), datatype=XSD_INT)
    assert 10**9 - unhurried.calls_left > 100

    fired: list[bool] = []
    deadline = _DeadlineAfterCalls(60)
    deadline.on_engine_expired = lambda: fired.append(True)
    def run() -> None:
        answer = store.query(cross, deadline=deadline)
        assert isinstance(answer, SelectResult)
        list(answer.rows)

    with pytest.raises(QueryTimeout):
        run()
    assert fired == [True]
