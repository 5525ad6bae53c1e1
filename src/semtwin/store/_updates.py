"""SPARQL Update text for whole-graph writes, shared by every backend."""

from __future__ import annotations

from collections.abc import Sequence

from semtwin.rdf import BlankNode, DefaultGraph, GraphName, Quad, sparql_term


def insert_data(quads: Sequence[Quad]) -> str:
    """``INSERT DATA``; with blank nodes ``INSERT { } WHERE { }``, which every store accepts
    (Virtuoso refuses blank nodes in ``INSERT DATA``) and which gives the same fresh nodes."""
    lines = []
    has_blank = False
    for q in quads:
        triple = f"{sparql_term(q.subject)} {q.predicate} {sparql_term(q.object)} ."
        has_blank = has_blank or isinstance(q.subject, BlankNode) or isinstance(
            q.object, BlankNode)
        if isinstance(q.graph_name, DefaultGraph):
            lines.append(triple)
        else:
            lines.append(f"GRAPH {q.graph_name} {{ {triple} }}")
    body = "{\n" + "\n".join(lines) + "\n}"
    return f"INSERT {body} WHERE {{}}" if has_blank else f"INSERT DATA {body}"


def add_quads_update(quads: Sequence[Quad], create_graph: GraphName | None,
                     *, empty_graphs: bool = True) -> str | None:
    parts = []
    if empty_graphs and create_graph is not None and not isinstance(create_graph, DefaultGraph):
        parts.append(f"CREATE SILENT GRAPH {create_graph}")
    if quads:
        parts.append(insert_data(quads))
    return " ;\n".join(parts) if parts else None


def drop_graph_update(graph: GraphName) -> str:
    if isinstance(graph, DefaultGraph):
        return "CLEAR SILENT DEFAULT"
    return f"DROP SILENT GRAPH {graph}"
