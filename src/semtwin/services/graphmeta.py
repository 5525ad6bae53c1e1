"""What a write through a generic door (SPARQL Update, the Graph Store) does to the metadata
of the twins and relationships whose graphs it writes: a graph is its twin's content, so the
twin gets a new ETag; a relationship whose graph no longer says its source, name and target
is deleted (its metadata goes), since a relationship without them is no relationship.

Both doors install ``follow_metadata`` as their changeset's rebase hook, so the metadata is
read under the write lock: read when the change was planned, a write landing in between
would be left with two ETags."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from semtwin.rdf import GraphName, Literal, NamedNode, Quad
from semtwin.services.pipeline import ETAG, META, Changeset
from semtwin.services.relationships import NAME, SOURCE, TARGET
from semtwin.store import TwinStore


def follow_metadata(store: TwinStore, changeset: Changeset) -> None:
    """Make ``changeset`` carry, each time it is rebased (always, under the write lock),
    the metadata change of every named graph it writes; ``data["resources"]`` names the
    twins and relationships it changed."""
    remove, add = list(changeset.remove), list(changeset.add)
    cleared = {*changeset.clear_graphs, *changeset.drop_graphs}
    removed = set(remove)
    added: dict[GraphName, list[Quad]] = {}
    for quad in add:
        added.setdefault(quad.graph_name, []).append(quad)
    graphs = sorted((g for g in {*added, *(q.graph_name for q in remove), *cleared}
                     if isinstance(g, NamedNode)), key=str)

    def refresh() -> None:
        meta_remove: list[Quad] = []
        meta_add: list[Quad] = []
        touched: list[str] = []
        for graph in graphs:
            gone, new = metadata_change(store, graph, cleared=graph in cleared,
                                        removed=removed, added=added.get(graph, []))
            meta_remove += gone
            meta_add += new
            if gone:
                touched.append(graph.value)
        changeset.remove, changeset.add = [*remove, *meta_remove], [*add, *meta_add]
        changeset.data.pop("resources", None)
        if touched:
            changeset.data["resources"] = touched

    changeset.rebase, changeset.rebase_always = refresh, True


def metadata_change(store: TwinStore, graph: NamedNode, *, cleared: bool,
                    removed: Collection[Quad], added: Sequence[Quad]
                    ) -> tuple[list[Quad], list[Quad]]:
    """The metadata quads to remove and to add when a write clears the graph (or not),
    removes ``removed`` (quads of any graph) and adds ``added`` (the graph's)."""
    etags = list(store.quads(graph, ETAG, None, META))
    if not etags:
        return [], []  # not a twin's or relationship's graph
    if any(True for _ in store.quads(graph, SOURCE, None, graph)):
        kept = [] if cleared else [q for q in store.quads(None, None, None, graph)
                                   if q not in removed]
        after = {q.predicate for q in [*kept, *added] if q.subject == graph}
        if not {SOURCE, NAME, TARGET} <= after:
            return list(store.quads(graph, None, None, META)), []
    return etags, [Quad(graph, ETAG, Literal(uuid.uuid4().hex), META)]
