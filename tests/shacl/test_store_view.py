"""The store view answers ``subjects`` of a node whose incoming edges it has read from those
edges, without another look-up; what it answers must be what the store holds, for nodes with
few edges (kept) and hubs (not kept), with the hidden graphs left out."""

from __future__ import annotations

from pathlib import Path

from semtwin.rdf import NamedNode, Quad
from semtwin.shacl.graph import StoreView
from semtwin.store.embedded import EmbeddedStore

EX = "https://ex.org/"
HIDDEN = NamedNode("urn:semtwin:meta")


def test_subjects_after_incoming_match_the_store(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "db")
    few, hub = NamedNode(EX + "few"), NamedNode(EX + "hub")
    feeds, part_of = NamedNode(EX + "feeds"), NamedNode(EX + "partOf")
    graph = NamedNode(EX + "g")
    quads = [Quad(NamedNode(f"{EX}a{i}"), feeds if i % 2 else part_of, few, graph)
             for i in range(5)]
    quads.append(Quad(NamedNode(EX + "secret"), feeds, few, HIDDEN))
    quads += [Quad(NamedNode(f"{EX}b{i}"), feeds if i % 3 else part_of, hub, graph)
              for i in range(StoreView.INCOMING_KEPT * 3)]
    store.add_quads(quads)

    def truth(predicate: NamedNode, node: NamedNode) -> set[str]:
        return {q.subject.value for q in store.quads(None, predicate, node, None)
                if q.graph_name != HIDDEN}

    for node in (few, hub):
        view = StoreView(store, hidden=(HIDDEN,))
        assert view.has_incoming(node)
        for predicate in (feeds, part_of, NamedNode(EX + "other")):
            assert {s.value for s in view.subjects(predicate, node)} == truth(predicate, node)
        assert len(view.incoming(node)) == len(truth(feeds, node) | truth(part_of, node))
    view = StoreView(store, hidden=(HIDDEN,))
    assert not view.has_incoming(NamedNode(EX + "nothing"))
    assert view.subjects(feeds, NamedNode(EX + "nothing")) == []
    store.close()


def test_subjects_of_a_node_read_whole_need_no_look_up(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "db")
    node, feeds = NamedNode(EX + "new"), NamedNode(EX + "feeds")
    store.add_quads([Quad(NamedNode(EX + "a"), feeds, node, NamedNode(EX + "g"))])
    view = StoreView(store)
    assert view.has_incoming(node)
    calls: list[object] = []
    original = store.quads

    def counted(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    store.quads = counted  # type: ignore[method-assign]
    assert [s.value for s in view.subjects(feeds, node)] == [EX + "a"]
    assert view.subjects(NamedNode(EX + "partOf"), node) == []
    assert calls == []
    store.close()
