"""Footprints of SHACL-SPARQL queries (``semtwin.shacl.footprint``), checked against the
whole graph on random data: the query gives the same solutions on a copy of its footprint
as on all the data, and every focus node whose solutions a changed triple alters is among
the candidates the reverse walk names for that triple."""

from __future__ import annotations

import random

import pytest

from semtwin.rdf import Literal, NamedNode, Term, Triple
from semtwin.shacl.footprint import QueryPlan
from semtwin.shacl.graph import MemoryGraph, OverlayView
from semtwin.shacl.shapes import ShapesGraph
from semtwin.shacl.sparql import FootprintSparql, MemorySparql

EX = "http://ex.org/"
PREFIXES = {"ex": EX}
NODES = [NamedNode(f"{EX}n{i}") for i in range(14)]
PREDICATES = [NamedNode(f"{EX}{p}") for p in ("p", "q", "r")]
CLASS = NamedNode(f"{EX}C")
TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

BOUNDED = [
    "SELECT $this ?v WHERE { $this ex:p ?v . FILTER NOT EXISTS { ?v ex:q ?w } }",
    "SELECT $this ?v WHERE { $this ex:p/ex:q ?v }",
    "SELECT $this ?v WHERE { $this ex:p ?v . ?x ex:r ?v . FILTER (?x != $this) }",
    "SELECT $this ?v WHERE { ?v ex:p $this . ?v a ex:C }",
    "SELECT $this ?v WHERE { $this ex:q+ ?v . FILTER (?v = $this) }",
    "SELECT $this ?v WHERE { $this ex:p ?v . OPTIONAL { ?v ex:r ?z } FILTER (!bound(?z)) }",
    "SELECT $this (COUNT(?v) AS ?n) WHERE { $this ex:p|^ex:r ?v } GROUP BY $this "
    "HAVING (COUNT(?v) > 2)",
    "SELECT $this ?v WHERE { { $this ex:p ?v } UNION { $this ex:r ?v } ?v ex:q ?w }",
    "SELECT $this ?v WHERE { $this ?pred ?v . FILTER (?pred != ex:p) ?v a ex:C }",
    "SELECT $this ?v WHERE { $this ex:p ?v . FILTER EXISTS { ?v ex:q/ex:r ?u } }",
    "SELECT $this ?v WHERE { $this ex:p ?v . FILTER NOT EXISTS { ?v ex:q [] } }",
    "SELECT $this ?v WHERE { $this ex:p ?v . FILTER NOT EXISTS { ex:n0 ex:q ex:n1 } }",
    "SELECT $this ?v WHERE { $this (ex:p/^ex:q)|ex:r* ?v . ?v ex:q \"v1\" }",
    "SELECT (COUNT(?v) AS ?n) WHERE { $this ex:p ?v . ?v a ex:C } HAVING (COUNT(?v) = 0)",
    "SELECT $this ?v WHERE { $this ex:p ?v . FILTER NOT EXISTS { ex:n0 ex:q ?a . ?a ex:r ?b } }",
]
UNBOUNDED = [
    "SELECT $this WHERE { ?a ex:p ?b }",
    "SELECT $this WHERE { $this ex:p ?v . { ?x ex:q ?y } UNION { ?v ex:r ?y } }",
    "SELECT $this WHERE { $this ex:p ?v . BIND (?v AS ?w) ?w ex:q ?z }",
]


def _random_graph(rng: random.Random, size: int) -> set[Triple]:
    triples: set[Triple] = set()
    while len(triples) < size:
        s, o = rng.choice(NODES), rng.choice(NODES)
        kind = rng.random()
        if kind < 0.15:
            triples.add(Triple(s, TYPE, CLASS))
        elif kind < 0.25:
            triples.add(Triple(s, rng.choice(PREDICATES), Literal(f"v{rng.randint(0, 2)}")))
        else:
            triples.add(Triple(s, rng.choice(PREDICATES), o))
    return triples


def _results(query: str, graph: MemoryGraph) -> dict[Term, list[tuple[str, ...]]]:
    engine = MemorySparql(graph)
    out = {}
    for node in NODES:
        rows = engine.select(query, PREFIXES, {"this": node})
        assert rows is not None
        out[node] = sorted(tuple(sorted(f"{k}={v}" for k, v in row.items())) for row in rows)
    return out


@pytest.mark.parametrize("query", BOUNDED)
def test_the_footprint_gives_the_same_solutions(query: str) -> None:
    plans = ShapesGraph(MemoryGraph()).query_plan  # the validator's source of plans
    for seed in range(25):
        graph = MemoryGraph(_random_graph(random.Random(seed), 40))
        whole = _results(query, graph)
        footprint = FootprintSparql(graph, plans)
        for node in NODES:
            rows = footprint.select(query, PREFIXES, {"this": node})
            assert rows is not None, "a bounded query must have a footprint"
            got = sorted(tuple(sorted(f"{k}={v}" for k, v in row.items())) for row in rows)
            assert got == whole[node], (seed, node)


@pytest.mark.parametrize("query", BOUNDED)
def test_every_focus_node_a_change_alters_is_a_candidate(query: str) -> None:
    plan = QueryPlan(query, PREFIXES)
    assert plan.anchored()
    checked = 0
    for seed in range(40):
        rng = random.Random(1000 + seed)
        triples = _random_graph(rng, 35)
        before = MemoryGraph(triples)
        change = rng.choice(sorted(triples, key=str)) if rng.random() < 0.5 else next(
            iter(_random_graph(rng, 1)))
        removed = change in triples
        after = MemoryGraph(triples - {change} if removed else triples | {change})
        either = OverlayView(before, [] if removed else [change], [])
        if not plan.reads(change.predicate):
            assert _results(query, before) == _results(query, after)
            continue
        candidates = plan.focus_candidates(either, change)
        old, new = _results(query, before), _results(query, after)
        altered = {n for n in NODES if old[n] != new[n]}
        if candidates is None:  # every focus node: trivially all that changed
            continue
        assert altered <= candidates, (seed, change, altered - candidates)
        checked += len(altered)
    assert checked > 0, "no change altered a result: the test would prove nothing"


@pytest.mark.parametrize("query", UNBOUNDED)
def test_unanchored_patterns_have_no_footprint(query: str) -> None:
    assert not QueryPlan(query, PREFIXES).anchored()
    graph = MemoryGraph(_random_graph(random.Random(1), 30))
    plan = ShapesGraph(MemoryGraph()).query_plan
    assert FootprintSparql(graph, plan).select(query, PREFIXES, {"this": NODES[0]}) is None


def test_a_new_type_triple_names_its_own_node_not_every_instance_of_the_class() -> None:
    """Brick's deprecation constraint shape: adding ``x a C`` re-checks x; deprecating C
    re-checks every instance of C (the walk back starts from where the pattern hangs)."""
    query = ("SELECT $this ?class WHERE { $this a ?class . ?class ex:deprecated true . "
             "?class ex:replacedBy ?new }")
    plan = QueryPlan(query, PREFIXES)
    instances = [NamedNode(f"{EX}i{i}") for i in range(50)]
    graph = MemoryGraph([Triple(i, TYPE, CLASS) for i in instances])
    new = Triple(NamedNode(f"{EX}x"), TYPE, CLASS)
    assert plan.focus_candidates(OverlayView(graph, [new], []), new) == {new.subject}
    deprecated = Triple(CLASS, NamedNode(f"{EX}deprecated"), Literal("true", datatype=NamedNode(
        "http://www.w3.org/2001/XMLSchema#boolean")))
    assert plan.focus_candidates(OverlayView(graph, [deprecated], []), deprecated) == set(
        instances)


@pytest.mark.parametrize("query", [
    "SELECT $this ?v WHERE { $this ex:p ?v . FILTER NOT EXISTS { ex:n0 ex:q ?a . ?a ex:r ?b } }",
    # ?a is linked to $this by the other branch, but in this one only the constant binds it
    "SELECT $this ?v ?b WHERE { $this ex:p ?v . { $this ex:p ?a } UNION { ex:n0 ex:q ?a . "
    "?a ex:r ?b } }",
])
def test_a_change_to_a_part_only_constants_anchor_concerns_every_focus_node(query: str) -> None:
    plan = QueryPlan(query, PREFIXES)
    graph = MemoryGraph([Triple(NODES[0], PREDICATES[1], NODES[1]),
                         Triple(NODES[2], PREDICATES[0], NODES[3])])
    for change in (Triple(NODES[1], PREDICATES[2], NODES[4]),   # reached through ?a
                   Triple(NODES[0], PREDICATES[1], NODES[5])):  # the constant's own pattern
        assert plan.focus_candidates(OverlayView(graph, [change], []), change) is None
    before = _results(query, graph)
    after = _results(query, MemoryGraph([*graph.triples(),
                                         Triple(NODES[1], PREDICATES[2], NODES[4])]))
    assert before[NODES[2]] != after[NODES[2]]  # the change does alter a focus node


def test_the_walk_back_takes_every_branch_that_binds_the_variable() -> None:
    """?a is bound from $this by either branch: a change at ?a's far side reaches the focus
    nodes of both (the longer branch too)."""
    query = ("SELECT $this ?b WHERE { { $this ex:p ?a } UNION { $this ex:q ?c . ?c ex:r ?a } "
             "?a ex:q ?b }")
    plan = QueryPlan(query, PREFIXES)
    p, q, r = PREDICATES
    graph = MemoryGraph([Triple(NODES[1], q, NODES[2]), Triple(NODES[2], r, NODES[3]),
                         Triple(NODES[5], p, NODES[3])])
    change = Triple(NODES[3], q, NODES[4])
    candidates = plan.focus_candidates(OverlayView(graph, [change], []), change)
    assert candidates is not None and {NODES[1], NODES[5]} <= candidates
    after = MemoryGraph([*graph.triples(), change])
    assert _results(query, graph)[NODES[1]] != _results(query, after)[NODES[1]]
