"""SPARQL 1.1 Graph Store HTTP Protocol operations on whole graphs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from semtwin.errors import NotAcceptable, NotFound
from semtwin.negotiation import best_match
from semtwin.rdf import (
    DefaultGraph,
    GraphName,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    format_for_media_type,
    parse_rdf,
)
from semtwin.services.graphmeta import follow_metadata
from semtwin.services.held import checkable, held_quads, worth_checking
from semtwin.services.pipeline import Changeset, WritePipeline, check_not_reserved
from semtwin.services.results import GRAPH_FORMATS
from semtwin.store import SelectResult, TwinStore

DEFAULT_GRAPH_SUBJECT = "urn:semtwin:default-graph"
GRAPH_OFFERS = [
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "text/plain",
    "application/json",
    "application/xml",
]


def graph_name(iri: str | None) -> GraphName:
    return DefaultGraph() if iri is None else NamedNode(iri)


class GraphStoreService:
    """Graph Store writes go through the write pipeline: each is one journaled changeset."""

    def __init__(self, store: TwinStore, pipeline: WritePipeline) -> None:
        self._store = store
        self._pipeline = pipeline

    def negotiate(self, accept: str | None) -> str:
        media_type = best_match(GRAPH_OFFERS, accept)
        if media_type is None:
            raise NotAcceptable(
                f"no RDF graph format matches Accept: {accept}; available: "
                + ", ".join(GRAPH_OFFERS)
            )
        return media_type

    def get(self, graph: GraphName, media_type: str, output: IO[bytes]) -> str:
        """Write the graph to ``output`` in the negotiated format, as the store reads it
        (never whole in memory: a bulk-loaded default graph can hold millions of triples);
        its media type."""
        if not self._store.graph_exists(graph):
            raise NotFound(f"no graph {graph}")
        fmt: RdfFormat = GRAPH_FORMATS[media_type]
        self._store.dump(output, fmt, graph=graph)
        return f"{fmt.media_type}; charset=utf-8"

    def put(
        self, graph: GraphName, body: bytes, content_type: str | None, base_iri: str | None,
        actor: str | None = None,
    ) -> bool:
        """Replace the graph; True if it was created."""
        fmt = format_for_media_type(content_type)
        quads = parse_rdf(body, fmt, base_iri=base_iri, to_graph=graph)
        check_not_reserved(graph)
        with self._pipeline.exclusive():
            existed = self._store.graph_exists(graph)
            if (existed and worth_checking(self._store, len(quads))
                    and self._holds_exactly(graph, quads)):
                return False  # the graph already says this: no event, no new ETag
            self._commit("graph.replaced", graph, clear=[graph], add=quads, actor=actor)
        return not existed

    def post(
        self, graph: GraphName, body: bytes, content_type: str | None, base_iri: str | None,
        actor: str | None = None,
    ) -> bool:
        """Merge into the graph; True if it was created."""
        return self.post_parts(graph, [(body, content_type, "body")], base_iri, actor)

    def post_parts(
        self,
        graph: GraphName,
        parts: list[tuple[bytes, str | None, str]],
        base_iri: str | None,
        actor: str | None = None,
    ) -> bool:
        """Merge several documents (a multipart upload) at once: all or nothing."""
        quads = []
        for body, content_type, name in parts:
            fmt = format_for_media_type(content_type)
            quads.extend(parse_rdf(body, fmt, base_iri=base_iri, to_graph=graph, source=name))
        check_not_reserved(graph)
        with self._pipeline.exclusive():
            existed = self._store.graph_exists(graph)
            if existed and worth_checking(self._store, len(quads)):
                # what the graph holds already is no change
                held = held_quads(self._store, [q for q in quads if checkable(q)])
                quads = [q for q in quads if q not in held]
                if not quads:
                    return False
            self._commit("graph.merged", graph, add=quads, actor=actor)
        return not existed

    def _holds_exactly(self, graph: GraphName, quads: Sequence[Quad]) -> bool:
        """Whether the graph holds these quads and nothing else (never, with blank nodes:
        they are not compared)."""
        distinct = set(quads)
        if not all(checkable(q) for q in distinct):
            return False
        where = "?s ?p ?o" if isinstance(graph, DefaultGraph) else f"GRAPH {graph} {{ ?s ?p ?o }}"
        result = self._store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}",
                                   union_default_graph=False)
        assert isinstance(result, SelectResult)
        count = next((row[0] for row in result.rows), None)
        if not isinstance(count, Literal) or int(count.value) != len(distinct):
            return False
        return len(held_quads(self._store, distinct)) == len(distinct)

    def delete(self, graph: GraphName, actor: str | None = None) -> None:
        if not isinstance(graph, DefaultGraph) and not self._store.graph_exists(graph):
            raise NotFound(f"no graph {graph}")
        if isinstance(graph, NamedNode):
            self._commit("graph.deleted", graph, drop=[graph], actor=actor)
        else:
            self._commit("graph.deleted", graph, clear=[graph], actor=actor)

    def _commit(self, kind: str, graph: GraphName, *, add: Sequence[Quad] = (),
                clear: Sequence[GraphName] = (), drop: Sequence[NamedNode] = (),
                actor: str | None = None) -> None:
        """Every Graph Store write is one journaled changeset of the write pipeline; semtwin's
        own graphs are not a client's to write, here as through SPARQL Update."""
        check_not_reserved(graph)
        subject = graph if isinstance(graph, NamedNode) else NamedNode(DEFAULT_GRAPH_SUBJECT)
        named = [graph] if isinstance(graph, NamedNode) and not drop else []
        changeset = Changeset(
            event_type=kind, subject=subject, add=add, clear_graphs=clear,
            create_graphs=named, drop_graphs=drop, metadata=False,
            data={"graph": subject.value, "triples": len(add)})
        follow_metadata(self._store, changeset)  # a twin's graph keeps its twin
        self._pipeline.commit(changeset, actor=actor)
