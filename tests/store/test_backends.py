"""The store protocol, run against every backend: embedded, Oxigraph server, Virtuoso."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from semtwin.errors import InvalidInput
from semtwin.rdf import Literal, NamedNode, Quad, RdfFormat, parse
from semtwin.settings import Settings
from semtwin.store import (
    AskResult,
    GraphResult,
    QueryDataset,
    SelectResult,
    TwinStore,
    UpdateDataset,
    open_store,
)

EX = "http://example.org/backend/"
G1 = NamedNode(EX + "g1")
G2 = NamedNode(EX + "g2")


def n(local: str) -> NamedNode:
    return NamedNode(EX + local)


@pytest.fixture
def store(store_location: str) -> Iterator[TwinStore]:
    opened = open_store(Settings(store=store_location))
    yield opened
    opened.close()


def test_is_a_twin_store(store: TwinStore) -> None:
    assert isinstance(store, TwinStore)
    assert store.capabilities.union_default_graph is True


def test_add_then_query_every_form(store: TwinStore) -> None:
    store.add_quads([
        Quad(n("ahu"), n("feeds"), n("vav1"), G1),
        Quad(n("ahu"), n("feeds"), n("vav2"), G1),
        Quad(n("vav1"), n("label"), Literal("VAV één", language="nl"), G2),
        Quad(n("vav2"), n("temp"), Literal("21.5", datatype=NamedNode(
            "http://www.w3.org/2001/XMLSchema#decimal")), G2),
    ])
    select = store.query(f"SELECT ?v WHERE {{ <{EX}ahu> <{EX}feeds> ?v }} ORDER BY ?v")
    assert isinstance(select, SelectResult)
    assert select.variables == ["v"]
    assert [row[0] for row in select.rows] == [n("vav1"), n("vav2")]
    ask = store.query(f"ASK {{ <{EX}vav1> <{EX}label> \"VAV één\"@nl }}")
    assert isinstance(ask, AskResult)
    assert ask.value is True
    construct = store.query(f"CONSTRUCT {{ ?v a <{EX}Fed> }} WHERE {{ ?a <{EX}feeds> ?v }}")
    assert isinstance(construct, GraphResult)
    assert {t.subject for t in construct.triples} == {n("vav1"), n("vav2")}
    typed = store.query(f"SELECT ?t WHERE {{ <{EX}vav2> <{EX}temp> ?t }}")
    assert isinstance(typed, SelectResult)
    value = next(iter(typed.rows))[0]
    assert isinstance(value, Literal)
    assert value.datatype.value.endswith("#decimal")


def test_stored_form_says_what_the_store_gives_back(store: TwinStore) -> None:
    """Stores keep some literals as values (Oxigraph: ``"7"^^xsd:int`` as ``"7"^^xsd:integer``,
    Virtuoso: an integral ``xsd:decimal`` as ``xsd:integer``); ``stored_form`` must predict
    exactly what a written literal comes back as, since validation of stored data relies on
    it."""
    xsd = "http://www.w3.org/2001/XMLSchema#"
    written = [Literal(lexical, datatype=NamedNode(xsd + datatype)) for lexical, datatype in (
        ("5", "decimal"), ("5.5", "decimal"), ("2024-05-01", "date"), ("7", "int"),
        ("x", "token"), ("1.5E0", "double"), ("true", "boolean"), ("300", "short"))]
    for index, value in enumerate(written):
        store.add_quads([Quad(n(f"pump{index}"), n("value"), value, G1)])
    rows = store.query(f"SELECT ?s ?v WHERE {{ GRAPH <{G1.value}> {{ ?s <{EX}value> ?v }} }}")
    assert isinstance(rows, SelectResult)
    back = {row[0]: row[1] for row in rows.rows}
    assert {index: store.stored_form(value) for index, value in enumerate(written)} == {
        index: back[n(f"pump{index}")] for index in range(len(written))}
    changed = [v for v in written if store.stored_form(v) != v]
    assert changed, "every backend here normalizes some literal (see the docstring)"


def test_protocol_dataset_restricts_the_default_graph(store: TwinStore) -> None:
    store.add_quads([Quad(n("a"), n("p"), n("b"), G1), Quad(n("c"), n("p"), n("d"), G2)])
    result = store.query("SELECT ?s WHERE { ?s ?p ?o }", dataset=QueryDataset((G1.value,)))
    assert isinstance(result, SelectResult)
    assert [row[0] for row in result.rows] == [n("a")]


def test_graph_operations(store: TwinStore) -> None:
    store.add_quads([Quad(n("a"), n("p"), n("b"), G1), Quad(n("a"), n("p"), n("c"), G1)])
    assert store.graph_exists(G1)
    assert G1 in store.named_graphs()
    store.drop_graph(G1)
    store.add_quads([Quad(n("z"), n("p"), n("y"), G1)])
    assert [q.subject for q in store.quads(graph=G1)] == [n("z")]
    store.add_quads([Quad(n("z"), n("q"), Literal(1), G1)])
    assert len(list(store.quads(subject=n("z")))) == 2
    assert store.count() == 2
    store.drop_graph(G1)
    assert not store.graph_exists(G1)
    assert list(store.quads(graph=G1)) == []


def test_contains_is_exact(store: TwinStore) -> None:
    quad = Quad(n("a"), n("p"), Literal(7), G1)
    assert not store.contains(quad)
    store.add_quads([quad, Quad(n("a"), n("p"), Literal("7"), G1)])
    assert store.contains(quad)
    assert not store.contains(Quad(n("a"), n("p"), Literal(8), G1))
    assert not store.contains(Quad(n("a"), n("p"), Literal(7), n("other-graph")))
    store.update(f'DELETE DATA {{ GRAPH {G1} {{ <{EX}a> <{EX}p> 7 }} }}')
    assert not store.contains(quad)
    assert store.contains(Quad(n("a"), n("p"), Literal("7"), G1))


def test_count_includes_the_default_graph(store: TwinStore) -> None:
    """Every quad the dump writes is counted (`semtwin load` and `dump` report it): the
    store's own default graph too, where it has one (Virtuoso's is the union of its graphs,
    so a default-graph triple lands in a graph of its own and is counted there)."""
    store.add_quads([Quad(n("a"), n("p"), n("b"), G1)])
    if store.capabilities.extra.get("default_graph", True):
        store.update(f"INSERT DATA {{ <{EX}d> <{EX}p> <{EX}e> }}")
        assert store.count() == 2
    else:  # Virtuoso: only named graphs
        assert store.count() == 1
    out = io.BytesIO()
    store.dump(out, RdfFormat.N_QUADS)
    assert len(list(parse(out.getvalue(), RdfFormat.N_QUADS))) == store.count()


def test_update_and_using_dataset(store: TwinStore) -> None:
    store.add_quads([Quad(n("doc"), n("type"), n("Doc"), G1)])
    store.update(
        f"INSERT {{ GRAPH <{EX}out> {{ ?s a <{EX}Copied> }} }} WHERE {{ ?s <{EX}type> ?t }}",
        dataset=UpdateDataset(using=(G1.value,)),
    )
    copied = store.query(f"ASK {{ GRAPH <{EX}out> {{ <{EX}doc> a <{EX}Copied> }} }}")
    assert isinstance(copied, AskResult)
    assert copied.value is True


def test_malformed_input_is_invalid_input(store: TwinStore) -> None:
    with pytest.raises(InvalidInput):
        store.query("SELECT * WHERE { ?s ?p }")
    with pytest.raises(InvalidInput):
        store.update("INSERT DATA { <http://e/a> <http://e/b> }")


def test_bulk_load_and_dump(store: TwinStore) -> None:
    data = "".join(f"<{EX}s{i}> <{EX}p> \"{i}\" <{EX}g{i % 3}> .\n" for i in range(300))
    store.bulk_load(io.BytesIO(data.encode()), RdfFormat.N_QUADS)
    assert store.count() == 300
    out = io.BytesIO()
    store.dump(out, RdfFormat.N_QUADS)
    assert set(parse(out.getvalue(), RdfFormat.N_QUADS)) == set(
        parse(data.encode(), RdfFormat.N_QUADS))


def test_bulk_load_of_many_graphs(store: TwinStore) -> None:
    """A twin store's shape: a graph per twin. Virtuoso refuses one large INSERT DATA over
    thousands of graphs (its SQL compiler stops at 10,000 lines), so loads are split."""
    data = "".join(f"<{EX}t{i}> <{EX}p> \"{i}\" <{EX}t{i}> .\n" for i in range(5000))
    store.bulk_load(io.BytesIO(data.encode()), RdfFormat.N_QUADS)
    result = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }}")
    assert isinstance(result, SelectResult)
    assert int(next(iter(result.rows))[0].value) == 5000  # type: ignore[union-attr]
