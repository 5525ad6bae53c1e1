"""Which of some quads a store holds: what tells a write that changes nothing (inserting what
is there, deleting what is not) from one that does."""

from __future__ import annotations

from collections.abc import Iterable

from semtwin.rdf import BlankNode, Literal, NamedNode, Quad, Triple
from semtwin.store import SelectResult, TwinStore

ROWS_A_QUERY = 500
REMOTE_CHECK_MAX = 10_000
"""Quads a write to a remote store checks for no-ops: 20 queries. A larger write is taken
as it is (a bulk load is seldom a repeat, and checking it would cost a query per 500)."""


def worth_checking(store: TwinStore, count: int) -> bool:
    """Whether to look up ``count`` quads before a write: always in process (3 us each),
    up to ``REMOTE_CHECK_MAX`` on a remote store."""
    return store.capabilities.in_process or count <= REMOTE_CHECK_MAX


def checkable(quad: Quad) -> bool:
    """Whether a quad can be looked up as it is: not with a blank node (a stored one is
    matched by pattern, an inserted one is always new) or a triple term (which a remote
    store's ``VALUES`` do not take)."""
    return (not isinstance(quad.subject, BlankNode | Triple)
            and not isinstance(quad.object, BlankNode | Triple))


def held_quads(store: TwinStore, quads: Iterable[Quad]) -> set[Quad]:
    """Those of ``quads`` (each ``checkable``) the store holds: point look-ups in process,
    else a query per ``ROWS_A_QUERY``."""
    quads = list(quads)
    if store.capabilities.in_process:
        return {q for q in quads if store.contains(q)}
    held: set[Quad] = set()
    for named in (True, False):
        group = [q for q in quads if isinstance(q.graph_name, NamedNode) is named]
        for start in range(0, len(group), ROWS_A_QUERY):
            chunk = group[start:start + ROWS_A_QUERY]
            # rows found by their number, not by the terms the store answers with (a store
            # may spell a literal its own way)
            rows = " ".join(f"({i} {q.subject} {q.predicate} {q.object}"
                            + (f" {q.graph_name})" if named else ")")
                            for i, q in enumerate(chunk))
            pattern = "GRAPH ?g { ?s ?p ?o }" if named else "?s ?p ?o"
            result = store.query(
                f"SELECT ?i WHERE {{ VALUES (?i ?s ?p ?o{' ?g' if named else ''}) "
                f"{{ {rows} }} {pattern} }}", union_default_graph=False)
            assert isinstance(result, SelectResult)
            held.update(chunk[int(row[0].value)] for row in result.rows
                        if isinstance(row[0], Literal))
    return held
