"""Contextual navigation over twins: listings by type, neighbours and paths.

Listings page with a keyset cursor (the last twin IRI served), so a page never repeats or
skips a twin that existed throughout, whatever is written meanwhile. Neighbours and paths
walk relationships breadth first, one query per hop for the whole frontier.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from semtwin.errors import InvalidInput, NotFound
from semtwin.rdf import Literal, NamedNode
from semtwin.services.pipeline import META, ST, WritePipeline
from semtwin.services.relationships import NAME, RELATIONSHIP, SOURCE, TARGET
from semtwin.services.twins import TwinService
from semtwin.store import SelectResult, TwinStore

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _encode(iri: str) -> str:
    return base64.urlsafe_b64encode(iri.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None


class NavigationService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline, twins: TwinService) -> None:
        self._store = store
        self._pipeline = pipeline
        self._twins = twins

    def _select(self, query: str) -> SelectResult:
        result = self._store.query(query, union_default_graph=False)
        assert isinstance(result, SelectResult)
        return result

    def list_twins(self, *, type_iri: str | None, q: str | None, limit: int,
             cursor: str | None) -> Page:
        patterns = [f"GRAPH {META} {{ ?t <{ST}etag> ?etag }}"]
        if type_iri is not None:
            # subclasses included, from the ontology graphs of the whole store
            classes = " ".join(f"<{c}>" for c in sorted(self._subclasses(type_iri)))
            patterns.append(f"VALUES ?c {{ {classes} }} GRAPH ?t {{ ?t a ?c }}")
        if q:
            patterns.append(f"GRAPH ?t {{ ?t <{RDFS_LABEL}> ?label }} "
                            f"FILTER(CONTAINS(LCASE(STR(?label)), {Literal(q.lower())}))")
        if cursor:
            patterns.append(f"FILTER(STR(?t) > {Literal(_decode(cursor))})")
        query = (f"SELECT DISTINCT ?t WHERE {{ {' '.join(patterns)} }} "
                 f"ORDER BY STR(?t) LIMIT {int(limit) + 1}")
        result = self._store.query(query, union_default_graph=False)
        assert isinstance(result, SelectResult)
        iris = [row[0].value for row in result.rows if isinstance(row[0], NamedNode)]
        more = len(iris) > limit
        iris = iris[:limit]
        items = []
        for iri in iris:
            try:
                items.append(self._twins.get(self._twins.id_of(iri)).body)
            except NotFound:
                continue  # deleted between the listing and the read
        return Page(items, _encode(iris[-1]) if more and iris else None)

    def _hop(self, frontier: set[str], direction: str,
             relationship: str | None) -> list[tuple[str, str, str, str]]:
        """(from, relationship id IRI, name, to) for every relationship leaving the frontier."""
        values = " ".join(f"<{iri}>" for iri in sorted(frontier))
        name_filter = ""
        if relationship is not None:
            name_filter = f"?rel {NAME} {self._twins.expand(relationship, 'relationship')} ."
        out = f"{{ ?rel {SOURCE} ?from ; {TARGET} ?to }}"
        inc = f"{{ ?rel {TARGET} ?from ; {SOURCE} ?to }}"
        pattern = {"out": out, "in": inc, "both": f"{out} UNION {inc}"}[direction]
        result = self._select(
            f"SELECT ?from ?rel ?name ?to WHERE {{ VALUES ?from {{ {values} }} "
            f"GRAPH ?rel {{ ?rel a {RELATIONSHIP} ; {NAME} ?name . {pattern} {name_filter} }} "
            f"GRAPH {META} {{ ?rel <{ST}etag> ?e }} }}")
        return [(r[0].value, r[1].value, r[2].value, r[3].value)  # type: ignore[union-attr]
                for r in result.rows]

    def neighbors(self, twin_id: str, *, depth: int, direction: str,
                  relationship: str | None, type_iri: str | None) -> dict[str, Any]:
        start = self._twins.iri(twin_id).value
        if self._pipeline.current_etag(NamedNode(start)) is None:
            raise NotFound(f"no twin {twin_id!r}")
        seen = {start: 0}
        edges = []
        frontier = {start}
        for level in range(1, depth + 1):
            if not frontier:
                break
            next_frontier: set[str] = set()
            for source, rel, name, target in self._hop(frontier, direction, relationship):
                edges.append({"from": self._twins.id_of(source),
                              "relationshipId": rel.rsplit("/relationships/", 1)[1],
                              "name": self._twins.compact(name),
                              "to": self._twins.id_of(target)})
                if target not in seen:
                    seen[target] = level
                    next_frontier.add(target)
            frontier = next_frontier
        twins = []
        classes = self._subclasses(type_iri) if type_iri else None
        for iri, level in sorted(seen.items(), key=lambda item: (item[1], item[0])):
            if iri == start:
                continue
            try:
                body = self._twins.get(self._twins.id_of(iri)).body
            except NotFound:
                continue
            if classes is not None and not any(
                    self._twins.expand(t, "$types").value in classes for t in body["$types"]):
                continue
            twins.append({"depth": level, "twin": body})
        return {"twins": twins, "relationships": edges}

    def _subclasses(self, type_iri: str) -> set[str]:
        """The class and its subclasses (``rdfs:subClassOf*`` over every graph)."""
        cls = self._twins.expand(type_iri, "type")
        result = self._store.query(f"SELECT DISTINCT ?c WHERE {{ ?c <{SUBCLASS}>* {cls} }}",
                                   union_default_graph=True)
        assert isinstance(result, SelectResult)
        return {cls.value} | {row[0].value for row in result.rows
                              if isinstance(row[0], NamedNode)}

    def paths(self, from_id: str, to_id: str, *, max_depth: int) -> list[list[dict[str, str]]]:
        """Every shortest path (following relationships forwards), at most ``max_depth`` hops."""
        start, goal = self._twins.iri(from_id).value, self._twins.iri(to_id).value
        for iri, twin_id in ((start, from_id), (goal, to_id)):
            if self._pipeline.current_etag(NamedNode(iri)) is None:
                raise NotFound(f"no twin {twin_id!r}")
        if start == goal:
            return [[]]
        parents: dict[str, list[tuple[str, str, str]]] = {start: []}
        frontier = {start}
        for _ in range(max_depth):
            level: dict[str, list[tuple[str, str, str]]] = {}
            for source, rel, name, target in self._hop(frontier, "out", None):
                if target not in parents:
                    level.setdefault(target, []).append((source, rel, name))
            if not level:
                return []
            parents.update(level)
            if goal in level:
                return self._unwind(goal, start, parents)
            frontier = set(level)
        return []

    def _unwind(self, node: str, start: str,
                parents: dict[str, list[tuple[str, str, str]]]) -> list[list[dict[str, str]]]:
        if node == start:
            return [[]]
        paths = []
        for source, rel, name in parents[node]:
            hop = {"from": self._twins.id_of(source),
                   "relationshipId": rel.rsplit("/relationships/", 1)[1],
                   "name": self._twins.compact(name), "to": self._twins.id_of(node)}
            for prefix in self._unwind(source, start, parents):
                paths.append([*prefix, hop])
        return paths
