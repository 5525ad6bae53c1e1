"""SPARQL Update through the planner gives the dataset the engine itself would: each request
runs once through ``UpdatePlanner`` + the write pipeline on a real on-disk store, and once
natively on a plain in-memory engine, and the two datasets must be isomorphic."""

from __future__ import annotations

import random
from pathlib import Path

import pyoxigraph as ox
import pytest

from semtwin.errors import InvalidInput
from semtwin.rdf import Literal, NamedNode, Quad
from semtwin.services.pipeline import JOURNAL, META, ST, Changeset, WritePipeline
from semtwin.services.updates import UpdatePlanner, apply_update
from semtwin.store.embedded import EmbeddedStore

SEED = """PREFIX ex: <http://ex.org/>
INSERT DATA { ex:a ex:p 1 ; ex:q ex:b . ex:b ex:p 2 .
  GRAPH ex:g1 { ex:a ex:name "A" . ex:c ex:p 3 }
  GRAPH ex:g2 { ex:d ex:p 5 . _:x ex:p 4 ; ex:name "x" } }"""
# Blank nodes an operation copies from stored data become new blank nodes with the same
# triples (SPARQL cannot name a stored blank node): docs/sparql.md. The seed keeps them out of
# the copied graphs; deleting them (g2) is exact.

REQUESTS = [
    "PREFIX ex: <http://ex.org/> DELETE DATA { ex:a ex:p 1 . GRAPH ex:g1 { ex:c ex:p 3 } }",
    "PREFIX ex: <http://ex.org/> DELETE { ?s ex:p ?o } INSERT { ?s ex:p2 ?o } "
    "WHERE { ?s ex:p ?o FILTER(?o > 1) }",
    "PREFIX ex: <http://ex.org/> WITH ex:g1 DELETE { ?s ex:p ?o } INSERT { ?s ex:seen _:b } "
    "WHERE { ?s ex:p ?o }",
    "PREFIX ex: <http://ex.org/> DELETE WHERE { GRAPH ?g { ?s ex:p ?o } }",
    "PREFIX ex: <http://ex.org/> INSERT { GRAPH ex:g3 { ?s ?p ?o } } USING ex:g1 "
    "WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://ex.org/> INSERT DATA { ex:new ex:p 9 } ; "
    "DELETE { ?s ex:p 9 } INSERT { ?s ex:p 10 } WHERE { ?s ex:p 9 }",
    "PREFIX ex: <http://ex.org/> CLEAR GRAPH ex:g1 ; INSERT DATA { GRAPH ex:g1 { ex:z ex:p 0 } }",
    "PREFIX ex: <http://ex.org/> COPY ex:g1 TO ex:g2 ; MOVE ex:g2 TO ex:g4 ; "
    "ADD DEFAULT TO ex:g5",
    "PREFIX ex: <http://ex.org/> DELETE { GRAPH ex:g2 { ?b ex:p 4 } } "
    "WHERE { GRAPH ex:g2 { ?b ex:name \"x\" } }",
    "PREFIX ex: <http://ex.org/> DROP GRAPH ex:g2 ; CREATE GRAPH ex:g2 ; "
    "INSERT DATA { GRAPH ex:g2 { ex:y ex:p 7 } }",
    "PREFIX ex: <http://ex.org/> INSERT { ?s ex:r ?missing } WHERE { ?s ex:p ?o "
    "OPTIONAL { ?s ex:nothing ?missing } }",
    "PREFIX ex: <http://ex.org/> CLEAR DEFAULT ; DROP SILENT GRAPH ex:none ; "
    "INSERT DATA { ex:k ex:p 1 }",
    "PREFIX ex: <http://ex.org/> DROP ALL",
    "PREFIX ex: <http://ex.org/> INSERT DATA { GRAPH ex:g9 { ex:s ex:p 1 } } ; "
    "DELETE { GRAPH ex:g9 { ?s ?p ?o } } INSERT { ?s ?p ?o } USING ex:g9 WHERE { ?s ?p ?o }",
]


def _canonical(quads: list[ox.Quad]) -> set[str]:
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in dataset}


@pytest.fixture
def planned(tmp_path: Path) -> tuple[EmbeddedStore, WritePipeline, UpdatePlanner]:
    store = EmbeddedStore(tmp_path / "db")
    pipeline = WritePipeline(store)
    return store, pipeline, UpdatePlanner(store)


@pytest.mark.parametrize("request_text", REQUESTS)
def test_planned_update_equals_native(planned: tuple[EmbeddedStore, WritePipeline,
                                                     UpdatePlanner], request_text: str) -> None:
    store, pipeline, planner = planned
    native = ox.Store()
    for target in (native,):
        target.update(SEED)
    apply_update(pipeline, planner, SEED, None, None)
    native.update(request_text)
    apply_update(pipeline, planner, request_text, None, None)
    ours = [q for q in store.quads() if q.graph_name not in (JOURNAL, META)]
    assert _canonical(ours) == _canonical(list(native))


def test_refused_without_writing(planned: tuple[EmbeddedStore, WritePipeline,
                                                UpdatePlanner]) -> None:
    store, pipeline, planner = planned
    apply_update(pipeline, planner, SEED, None, None)
    before = sorted(map(str, store.quads()))
    for text, words in [
        ("LOAD <http://example.org/data.ttl>", "LOAD is disabled"),
        ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
         "SERVICE is disabled"),
        ("INSERT DATA { GRAPH <urn:semtwin:journal> { <urn:a> <urn:b> <urn:c> } }",
         "reserved"),
        ("DROP GRAPH <urn:semtwin:meta>", "reserved"),
        ("DROP GRAPH <http://ex.org/never>", "does not exist"),
        ("CREATE GRAPH <http://ex.org/g1>", "exists"),
        ("INSERT DATA { <a> <b> }", "malformed"),
        ("INSERT DATA { <http://a> <http://b> <http://c> } ; ; ", "empty operation"),
    ]:
        with pytest.raises(InvalidInput, match=words):
            apply_update(pipeline, planner, text, None, None)
    assert sorted(map(str, store.quads())) == before


def test_drop_all_keeps_the_journal(planned: tuple[EmbeddedStore, WritePipeline,
                                                   UpdatePlanner]) -> None:
    _store, pipeline, planner = planned
    apply_update(pipeline, planner, SEED, None, None)
    apply_update(pipeline, planner, "DROP ALL", None, None)
    assert [e["type"] for e in pipeline.events(0, 10)] == ["dev.semtwin.sparql.update"] * 2
    assert pipeline.events(0, 10)[1]["data"]["operations"] == ["DROP"]


def test_a_twin_written_between_planning_and_commit_keeps_one_etag(
        planned: tuple[EmbeddedStore, WritePipeline, UpdatePlanner]) -> None:
    """The new ETag an update gives the twin whose graph it writes is decided when it
    commits: decided when planned, a twin write landing in between left the twin with two
    ETags (the old one the update meant to replace was already gone)."""
    store, pipeline, planner = planned
    twin = NamedNode("urn:twin:t")
    etag_of = NamedNode(ST + "etag")
    label = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")

    def write(etag: str, value: str) -> None:
        pipeline.commit(Changeset(event_type="twin.updated", subject=twin, clear_graphs=[twin],
                                  add=[Quad(twin, label, Literal(value), twin)],
                                  new_etag=etag))

    write("e1", "first")
    update = planner.plan(f"INSERT DATA {{ GRAPH {twin} {{ {twin} <http://ex.org/p> 1 }} }}")
    write("e2", "second")  # lands between the update's planning and its commit
    pipeline.commit(update)
    etags = [q.object for q in store.quads(twin, etag_of, None, META)]
    assert len(etags) == 1 and etags[0] not in (Literal("e1"), Literal("e2"))
    assert update.data["resources"] == [twin.value]


_SUBJECTS = ["ex:a", "ex:b", "ex:c"]
_OBJECTS = ["ex:a", "ex:b", "1", "2", '"x"', '"x"@en']
_GRAPHS = ["ex:g1", "ex:g2", "ex:g3"]


def _random_request(rng: random.Random) -> str:
    """One to three random operations of every kind the planner turns into a changeset."""
    def triples(n: int) -> str:
        return " . ".join(f"{rng.choice(_SUBJECTS)} {rng.choice(['ex:p', 'ex:q'])} "
                          f"{rng.choice(_OBJECTS)}" for _ in range(n))

    def block(body: str) -> str:
        graph = rng.choice([None, *_GRAPHS])
        return body if graph is None else f"GRAPH {graph} {{ {body} }}"

    def operation() -> str:
        g, h = rng.sample(_GRAPHS, 2)
        kind = rng.randrange(11)
        if kind == 0:
            return f"INSERT DATA {{ {block(triples(rng.randrange(1, 4)))} }}"
        if kind == 1:
            return f"DELETE DATA {{ {block(triples(rng.randrange(1, 3)))} }}"
        if kind == 2:
            return f"DELETE WHERE {{ {block('?s ex:p ?o')} }}"
        if kind == 3:
            where = f"?s ex:p ?o FILTER(isLiteral(?o) || ?o = {rng.choice(_SUBJECTS)})"
            return (f"DELETE {{ {block('?s ex:p ?o')} }} INSERT {{ {block('?s ex:q ?o')} }} "
                    f"WHERE {{ {block(where)} }}")
        if kind == 4:
            return f"WITH {g} DELETE {{ ?s ?p ?o }} INSERT {{ ?o ?p ?s }} WHERE {{ ?s ?p ?o " \
                   f"FILTER(isIRI(?o)) }}"
        if kind == 5:
            return f"INSERT {{ GRAPH {h} {{ ?s ex:r ?o }} }} USING {g} WHERE {{ ?s ?p ?o }}"
        if kind == 6:
            return ("INSERT { ?s ex:seen _:b . _:b ex:at ?o } WHERE { GRAPH ?g { ?s ex:q ?o "
                    "} }")
        if kind == 7:
            return rng.choice([f"CLEAR SILENT GRAPH {g}", "CLEAR DEFAULT", "CLEAR SILENT NAMED",
                               f"DROP SILENT GRAPH {g}", f"CREATE SILENT GRAPH {g}"])
        if kind == 8:
            verb, target = rng.choice(["COPY", "MOVE", "ADD"]), rng.choice([h, "DEFAULT"])
            return f"{verb} SILENT {g} TO {target}"
        if kind == 9:
            # (a stored blank node in a template comes back as a new one: docs/sparql.md)
            return "INSERT { ?s ex:n ?n } WHERE { { SELECT ?s (COUNT(*) AS ?n) WHERE " \
                   "{ ?s ?p ?o FILTER(isIRI(?s)) } GROUP BY ?s } }"
        return f"CLEAR GRAPH {g}"  # an error when g does not exist: nothing is written

    return "PREFIX ex: <http://ex.org/> " + " ;\n".join(
        operation() for _ in range(rng.choice([1, 1, 2, 3])))


@pytest.mark.parametrize("seed", range(6))
def test_random_updates_equal_native(planned: tuple[EmbeddedStore, WritePipeline,
                                                    UpdatePlanner], seed: int) -> None:
    """Random sequences of requests: after each, the same dataset as the engine's own
    update, and a request the engine refuses is refused with nothing written."""
    store, pipeline, planner = planned
    rng = random.Random(seed)
    native = ox.Store()
    for _ in range(60):
        text = _random_request(rng)
        try:
            native.update(text)
            native_failed = False
        except (SyntaxError, OSError, ValueError, RuntimeError):
            native_failed = True
        head = pipeline.journal_head()
        if native_failed:
            with pytest.raises(InvalidInput):
                apply_update(pipeline, planner, text, None, None)
            assert pipeline.journal_head() == head, text
        else:
            apply_update(pipeline, planner, text, None, None)
        ours = [q for q in store.quads() if q.graph_name not in (JOURNAL, META)]
        assert _canonical(ours) == _canonical(list(native)), text
        assert {g for g in store.named_graphs() if g not in (JOURNAL, META)} == set(
            native.named_graphs()), text  # empty graphs included
