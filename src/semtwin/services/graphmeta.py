"""What a write through a generic door (SPARQL Update, the Graph Store) does to the metadata
of the twin or relationship whose graph it writes: the graph is its content, so it gets a new
ETag; a relationship whose graph no longer says its source, name and target is deleted (its
metadata goes), since a relationship without them is no relationship."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from semtwin.rdf import Literal, NamedNode, Quad
from semtwin.services.pipeline import META, ST
from semtwin.services.relationships import NAME, SOURCE, TARGET
from semtwin.store import TwinStore

ETAG = NamedNode(f"{ST}etag")


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
