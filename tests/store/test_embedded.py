"""The embedded store on disk: atomic graph writes, durability, dump and reload."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import CanonicalizationAlgorithm, Dataset

from semtwin.errors import InvalidInput
from semtwin.rdf import DefaultGraph, Literal, NamedNode, Quad, RdfFormat, parse
from semtwin.store import AskResult, GraphResult, QueryDataset, SelectResult, UpdateDataset
from semtwin.store.embedded import EmbeddedStore

EX = "http://example.org/"
G1 = NamedNode(EX + "g1")


def q(s: str, p: str, o: str | Literal, g: NamedNode | None = None) -> Quad:
    obj = o if isinstance(o, Literal) else NamedNode(EX + o)
    return Quad(NamedNode(EX + s), NamedNode(EX + p), obj, g or DefaultGraph())


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "db")


def test_query_forms_and_union_default_graph(store: EmbeddedStore) -> None:
    store.add_quads([q("a", "p", "b", G1), q("c", "p", Literal("x"))])
    union = store.query("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s")
    assert isinstance(union, SelectResult)
    assert [row[0] for row in union.rows] == [NamedNode(EX + "a"), NamedNode(EX + "c")]
    plain = store.query("SELECT ?s WHERE { ?s ?p ?o }", union_default_graph=False)
    assert isinstance(plain, SelectResult)
    assert [row[0] for row in plain.rows] == [NamedNode(EX + "c")]
    ask = store.query(f"ASK {{ <{EX}a> ?p ?o }}", dataset=QueryDataset((EX + "g1",)))
    assert isinstance(ask, AskResult) and ask.value is True
    graph = store.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert isinstance(graph, GraphResult) and len(list(graph.triples)) == 2


def test_malformed_query_reports_position(store: EmbeddedStore) -> None:
    with pytest.raises(InvalidInput) as err:
        store.query("SELECT * WHERE { ?s ?p }")
    assert err.value.extra["line"] == 1
    assert err.value.extra["column"] is not None


def test_update_with_using_dataset(store: EmbeddedStore) -> None:
    store.add_quads([q("a", "type", "Doc", G1)])
    store.update(
        f"INSERT {{ GRAPH <{EX}out> {{ ?s a <{EX}Copied> }} }} WHERE {{ ?s <{EX}type> ?t }}",
        dataset=UpdateDataset(using=(EX + "g1",)),
    )
    assert store.graph_exists(NamedNode(EX + "out"))


def test_writes_survive_reopen_and_dump_reloads_isomorphic(tmp_path: Path) -> None:
    path = tmp_path / "db"
    first = EmbeddedStore(path)
    first.add_quads([q("a", "p", "b", G1), q("a", "name", Literal("é ü", language="fr"))])
    first.update(f"INSERT DATA {{ <{EX}s> <{EX}p> [ <{EX}q> 1 ] }}")
    first.close()
    reopened = EmbeddedStore(path)
    assert reopened.count() == 4
    out = io.BytesIO()
    reopened.dump(out, RdfFormat.N_QUADS)
    copy = EmbeddedStore(None)
    copy.bulk_load(io.BytesIO(out.getvalue()), RdfFormat.N_QUADS)
    again = io.BytesIO()
    copy.dump(again, RdfFormat.N_QUADS)
    assert len(list(parse(out.getvalue(), RdfFormat.N_QUADS))) == 4
    assert canonical(out.getvalue()) == canonical(again.getvalue())


def canonical(nquads: bytes) -> set[Quad]:
    dataset = Dataset(parse(nquads, RdfFormat.N_QUADS))
    dataset.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    return set(dataset)


def test_second_process_gets_a_clear_lock_error(tmp_path: Path) -> None:
    path = tmp_path / "db"
    holder = EmbeddedStore(path)
    code = ("from semtwin.settings import Settings; from semtwin.store import open_store; "
            f"open_store(Settings(store={str(path)!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode != 0
    assert "StoreLocked" in result.stderr and "in use by another process" in result.stderr
    holder.close()
