"""Contextual navigation over twins: listings by type, neighbours and paths.

Listings page with a keyset cursor (the last twin IRI served), so a page never repeats or
skips a twin that existed throughout, whatever is written meanwhile; candidates come in IRI
order from a twin index (``TwinIndex``) and the store checks which match. Neighbours and paths
walk relationships breadth first, one query per hop for the whole frontier.
"""

from __future__ import annotations

import json
import math
import re
import struct
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, TypeGuard

from semtwin.errors import InvalidInput, NotFound, UnprocessableContent
from semtwin.rdf import Literal, NamedNode
from semtwin.services.holders import EqualityHolders
from semtwin.services.paging import Page, decode_cursor, encode_cursor
from semtwin.services.pipeline import META, ST, WritePipeline
from semtwin.services.relationships import NAME, RELATIONSHIP, SOURCE, TARGET
from semtwin.services.twin_index import TwinIndex
from semtwin.services.twins import TwinService
from semtwin.shacl.vocab import XSD_NS
from semtwin.store import SelectResult, TwinStore

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"

_FEW = 2000  # matches sorted in Python rather than found by walking the twin index
_EQUAL_HOLDERS = 50_000
"""Twins an equality filter may hold for and still be the candidates of a listing page (a
row costs 6-15 us at 1M twins; above this a walk of the type is the better bet)."""
_WALK_BUDGET = 4_000
"""Candidates a listing page checks in IRI order before it asks the store for every twin
its label and filters hold for (a chunk of 2,000 costs 30-70 ms at 100k twins)."""
_WALK_HOLDERS = 200_000
"""Twins the label and filters may hold for and still replace the walk (10,000 of them: 0.2 s
at 100k twins; 111,111 labels with "twin 1" at 1M: 2.9 s, where the walk took 4 s more)."""
MAX_NEIGHBORS = 10_000
"""Twins a neighbourhood may reach: a building's whole graph at depth 10 is an export, not
an answer (and would hold a worker and its memory until done)."""
MAX_PATHS = 1_000
"""Shortest paths an answer may list: between two layers of k twins each there are k^depth."""

_OPERATORS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
              "contains": "", "exists": ""}


_TERM = re.compile(r'"(?:[^"\\\n]|\\.)*"(?:@[A-Za-z0-9-]+|\^\^<[^<>"{}|^`\\\s]*>)?'
                   r'|<[^<>"{}|^`\\\s]*>')


FilterValue = bool | int | float | str


def _filter_value(text: str) -> FilterValue:
    """A filter value: JSON (number, "string", true/false), else the text as a string."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, bool | int | float | str):
        return value
    raise InvalidInput(f"filter value {text!r} must be a number, a string or a boolean")


def _is_number(value: FilterValue) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal_terms(value: FilterValue) -> list[str]:
    """The terms SPARQL's ``=`` finds equal to a filter value: a number in each numeric
    datatype it can be written in (``5 = 5.0 = 5.0e0``), anything else itself."""
    if not _is_number(value) or not math.isfinite(value):
        return [str(Literal(value))]
    number = float(value)
    exact_float = struct.unpack("f", struct.pack("f", number))[0] == number
    forms = [Literal(repr(number), datatype=NamedNode(f"{XSD_NS}double")),
             Literal(format(Decimal(str(value)), "f"), datatype=NamedNode(f"{XSD_NS}decimal"))]
    if exact_float:
        forms.append(Literal(repr(number), datatype=NamedNode(f"{XSD_NS}float")))
    if number.is_integer():
        forms.append(Literal(int(value)))
    return [str(form) for form in forms]


class NavigationService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline, twins: TwinService) -> None:
        self._store = store
        self._pipeline = pipeline
        self._twins = twins
        self._index = TwinIndex(store, pipeline, twins.is_twin_iri)
        self._holders = EqualityHolders(self._index, self._select, _EQUAL_HOLDERS)

    def _select(self, query: str) -> SelectResult:
        result = self._store.query(query, union_default_graph=False)
        assert isinstance(result, SelectResult)
        return result

    def list_twins(self, *, type_iri: str | None, q: str | None, limit: int,
                   cursor: str | None, where: Sequence[str] = (),
                   sort: str | None = None) -> Page:
        """Twins by type (subclasses included), label search, property filters (``where``:
        ``PROPERTY OP VALUE``), sorted by IRI or by a property (``sort``, ``-`` for
        descending), paged with a keyset cursor that stays stable under concurrent writes."""
        # twins have ETags, and so do relationships and model versions: the index holds
        # twins only; a sorted page filters by the twin IRI form in its query, the
        # few-matches probe below in Python
        etag = f"GRAPH {META} {{ ?t <{ST}etag> ?etag }}"
        typed: list[str] = []
        wanted = None
        if type_iri is not None:
            # subclasses included, from the ontology graphs of the whole store; FILTER IN
            # rather than VALUES ?c, which Oxigraph joins first (every twin of the type)
            wanted = self._subclasses(type_iri)
            classes = ", ".join(f"<{c}>" for c in sorted(wanted))
            typed.append(f"GRAPH ?t {{ ?t a ?c }} FILTER(?c IN ({classes}))")
        labelled = ([f"GRAPH ?t {{ ?t <{RDFS_LABEL}> ?label }} "
                     f"FILTER(CONTAINS(LCASE(STR(?label)), {Literal(q.lower())}))"] if q else [])
        own = [*typed, *labelled]  # the twin's type and label
        filters = [self._filter(condition, i) for i, condition in enumerate(where)]
        patterns = [etag, *own, *(pattern for pattern, _ in filters)]
        # a walk's candidates come from the twin index: of the type, with an ETag; what
        # tells them apart is the label and the filters, checked first (a chunk of 2,000
        # VAVs none of which matches: 30 ms against 55 ms with the ETag and type first)
        walked = [*(pattern for pattern, _ in filters), *labelled, *typed, etag]
        if sort:
            return self._sorted([f"{etag} {self._twins.twin_iri_filter('?t')}",
                                 *patterns[1:]], sort, limit, cursor)
        after = decode_cursor(cursor) if cursor else None
        equal = [lookup for _, lookup in filters if lookup]
        candidates: Iterator[str] | None = None
        if equal:
            # An equality filter: the twins it holds for, from an index lookup of the equal
            # values, narrowed to the type by the twin index, are the candidates, in IRI
            # order; the store then checks the page's candidates against every pattern.
            # A walk of the type would check twins of it that the filter leaves out, and
            # the store joining the type to every holder costs 2-4 times the lookup.
            # Few holders are checked by the store alone (no twin index to build).
            holders = self._holders.holders(equal)
            if holders is not None:
                ordered = ([iri for iri in holders if self._twins.is_twin_iri(iri)]
                           if len(holders) <= _FEW else self._index.select(holders, wanted))
                candidates = iter(ordered[bisect_right(ordered, after):]
                                  if after is not None else ordered)
        if candidates is None and (q or where):
            # Few matches (a selective filter): the store finds them all, unsorted, and they
            # are sorted here; a walk of the index would check every twin of the type.
            bound = f"FILTER(STR(?t) > {Literal(after)})" if after is not None else ""
            # equality filters first (index lookups), then the twin's own patterns and the
            # other filters, the ETag last: Oxigraph joins in this order
            ordered = [*equal, *own,
                       *(pattern for pattern, lookup in filters if lookup is None), etag]
            found = [row[0].value for row in self._select(
                f"SELECT DISTINCT ?t WHERE {{ {' '.join(ordered)} {bound} }} "
                f"LIMIT {_FEW + 1}").rows
                if isinstance(row[0], NamedNode) and self._twins.is_twin_iri(row[0].value)]
            if len(found) <= _FEW:
                page = sorted(found)[:limit + 1]
                more = len(page) > limit
                page = page[:limit]
                return Page(self._documents(page),
                            encode_cursor(page[-1]) if more and page else None)
        # Many matches: candidates in IRI order from the twin index; the store says which
        # of them match, a chunk at a time.
        walking = candidates is None and bool(q or where)
        if candidates is None:
            candidates = self._index.after(wanted, after)
        iris: list[str] = []
        chunk_size = max(limit + 1, 50)
        checked = 0
        while len(iris) <= limit:
            chunk = list(islice(candidates, chunk_size))
            if not chunk:
                break
            values = " ".join(f"<{iri}>" for iri in chunk)
            matched = {row[0].value for row in self._select(
                f"SELECT DISTINCT ?t WHERE {{ VALUES ?t {{ {values} }} {' '.join(walked)} }}"
            ).rows if isinstance(row[0], NamedNode)}
            iris += [iri for iri in chunk if iri in matched]
            chunk_size = min(chunk_size * 2, 2000)
            checked += len(chunk)
            if walking and checked >= _WALK_BUDGET and len(iris) <= limit:
                # The matches are sparse here in IRI order (many twins of the type, few of
                # them matching, perhaps all further on): the twins the label and filters
                # hold for, from the store, narrowed to the type by the index, are the
                # candidates from now on, unless they are too many to be worth it.
                walking = False
                holders = self._holders_of([*(p for p, _ in filters), *labelled], chunk[-1])
                if holders is not None:
                    candidates = iter(self._index.select(holders, wanted))
                    chunk_size = max(limit + 1 - len(iris), 50)  # they nearly all match
        more = len(iris) > limit
        iris = iris[:limit]
        return Page(self._documents(iris), encode_cursor(iris[-1]) if more and iris else None)

    def _holders_of(self, patterns: list[str], after: str) -> list[str] | None:
        """The twin IRIs after ``after`` that the patterns hold for, sorted; None when
        there are more than ``_WALK_HOLDERS``."""
        rows = self._select(f"SELECT DISTINCT ?t WHERE {{ {' '.join(patterns)} }} "
                            f"LIMIT {_WALK_HOLDERS + 1}").rows
        found = [row[0].value for row in rows if isinstance(row[0], NamedNode)]
        if len(found) > _WALK_HOLDERS:
            return None
        return sorted(iri for iri in found if iri > after)

    def _documents(self, iris: list[str]) -> list[dict[str, Any]]:
        items = []
        for iri in iris:
            try:
                items.append(self._twins.get(self._twins.id_of(iri)).body)
            except NotFound:
                continue  # deleted between the listing and the read
        return items

    def _filter(self, condition: str, i: int) -> tuple[str, str | None]:
        """One ``where`` condition as SPARQL, and for an equality the same as an index
        lookup of the equal values (fast when it comes first and few twins match)."""
        parts = condition.split(None, 2)
        if len(parts) < 2 or parts[1] not in _OPERATORS:
            raise InvalidInput(f"where={condition!r}: give 'PROPERTY OP VALUE' with OP one of "
                               f"{', '.join(_OPERATORS)}")
        prop = self._twins.expand(parts[0], "where")
        op = parts[1]
        if op == "exists":
            return f"FILTER EXISTS {{ GRAPH ?t {{ ?t {prop} ?any{i} }} }}", None
        if len(parts) < 3:
            raise InvalidInput(f"where={condition!r}: {op} needs a value")
        parsed = _filter_value(parts[2])
        value = str(Literal(parsed))
        if op == "ne":
            return (f"FILTER NOT EXISTS {{ GRAPH ?t {{ ?t {prop} ?w{i} }} "
                    f"FILTER(?w{i} = {value}) }}"), None
        test = (f"CONTAINS(LCASE(STR(?w{i})), LCASE(STR({value})))" if op == "contains"
                else f"?w{i} {_OPERATORS[op]} {value}")
        if op in ("lt", "le", "gt", "ge") and _is_number(parsed):
            # a number against a string is a type error, so no match; said outright, since
            # Virtuoso compares "2" > 1.5 as true
            test = f"isNumeric(?w{i}) && {test}"
        pattern = f"GRAPH ?t {{ ?t {prop} ?w{i} }} FILTER({test})"
        if op != "eq":
            return pattern, None
        return pattern, (f"VALUES ?w{i} {{ {' '.join(_equal_terms(parsed))} }} "
                         f"GRAPH ?t {{ ?t {prop} ?w{i} }}")

    def _sorted(self, patterns: list[str], sort: str, limit: int,
                cursor: str | None) -> Page:
        descending = sort.startswith("-")
        prop = self._twins.expand(sort.lstrip("-+"), "sort")
        patterns = [*patterns, f"GRAPH ?t {{ ?t {prop} ?v }}"]
        after_cursor = ""
        if cursor:
            try:
                value, last = json.loads(decode_cursor(cursor))
            except (ValueError, TypeError):
                raise InvalidInput("invalid cursor") from None
            if not (isinstance(value, str) and isinstance(last, str)
                    and _TERM.fullmatch(value)):
                raise InvalidInput("invalid cursor")  # it goes into the query: terms only
            after = "<" if descending else ">"
            after_cursor = (f"FILTER(?k {after} {value} || (?k = {value} "
                            f"&& STR(?t) > {Literal(last)}))")
        order = "DESC(?k)" if descending else "?k"
        # the keyset filter sits outside the grouping subquery (HAVING stalls Virtuoso)
        query = (f"SELECT ?t ?k WHERE {{ {{ SELECT ?t (MIN(?v) AS ?k) WHERE "
                 f"{{ {' '.join(patterns)} }} GROUP BY ?t }} {after_cursor} }} "
                 f"ORDER BY {order} STR(?t) LIMIT {int(limit) + 1}")
        rows = [(row[0], row[1]) for row in self._select(query).rows
                if isinstance(row[0], NamedNode) and row[1] is not None]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more and rows:
            last_iri, last_value = rows[-1]
            next_cursor = encode_cursor(json.dumps([str(last_value), last_iri.value]))
        return Page(self._documents([iri.value for iri, _ in rows]), next_cursor)

    def _hop(self, frontier: set[str], direction: str,
             relationship: str | None) -> list[tuple[str, str, str, str, bool]]:
        """(near, relationship id IRI, name, far, forward) for every relationship with an end
        in the frontier, in the direction asked: ``near`` is that end, ``far`` the other;
        ``forward``: ``near`` is the relationship's source."""
        values = " ".join(f"<{iri}>" for iri in sorted(frontier))
        name_filter = ""
        if relationship is not None:
            name_filter = f"?rel {NAME} {self._twins.expand(relationship, 'relationship')} ."
        out = f"{{ ?rel {SOURCE} ?from ; {TARGET} ?to BIND('out' AS ?way) }}"
        inc = f"{{ ?rel {TARGET} ?from ; {SOURCE} ?to BIND('in' AS ?way) }}"
        pattern = {"out": out, "in": inc, "both": f"{out} UNION {inc}"}[direction]
        result = self._select(
            f"SELECT ?from ?rel ?name ?to ?way WHERE {{ VALUES ?from {{ {values} }} "
            f"GRAPH ?rel {{ ?rel a {RELATIONSHIP} ; {NAME} ?name . {pattern} {name_filter} }} "
            f"GRAPH {META} {{ ?rel <{ST}etag> ?e }} }}")
        return [(r[0].value, r[1].value, r[2].value, r[3].value,  # type: ignore[union-attr]
                 r[4].value == "out")  # type: ignore[union-attr]
                for r in result.rows]

    def neighbors(self, twin_id: str, *, depth: int, direction: str,
                  relationship: str | None, type_iri: str | None) -> dict[str, Any]:
        start = self._twins.iri(twin_id).value
        if self._pipeline.current_etag(NamedNode(start)) is None:
            raise NotFound(f"no twin {twin_id!r}")
        seen = {start: 0}
        edges = []
        walked: set[str] = set()
        frontier = {start}
        for level in range(1, depth + 1):
            if not frontier:
                break
            next_frontier: set[str] = set()
            for near, rel, name, far, forward in self._hop(frontier, direction, relationship):
                if rel not in walked:
                    # each relationship once, from its source to its target, whichever way
                    # it was walked (``both`` finds it from either end)
                    walked.add(rel)
                    # (the source is in the relationship's IRI)
                    target = far if forward else near
                    ids = self._twins.relationship_ids(rel)
                    edges.append({"from": ids["$sourceId"],
                                  "relationshipId": ids["$relationshipId"],
                                  "name": self._twins.compact(name),
                                  "to": self._twins.id_of(target)})
                if far not in seen:
                    seen[far] = level
                    next_frontier.add(far)
            if len(seen) - 1 > MAX_NEIGHBORS:
                raise UnprocessableContent(
                    f"more than {MAX_NEIGHBORS:,} twins within {level} hops of {twin_id!r}: "
                    "ask for a lower depth, one relationship name or one direction")
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
            for source, rel, name, target, _ in self._hop(frontier, "out", None):
                if target not in parents:
                    level.setdefault(target, []).append((source, rel, name))
            if not level:
                return []
            parents.update(level)
            if goal in level:
                paths = list(islice(self._unwind(goal, start, parents), MAX_PATHS + 1))
                if len(paths) > MAX_PATHS:
                    raise UnprocessableContent(
                        f"more than {MAX_PATHS:,} shortest paths from {from_id!r} to "
                        f"{to_id!r}; ask for a lower maxDepth")
                return paths
            frontier = set(level)
        return []

    def _unwind(self, node: str, start: str, parents: dict[str, list[tuple[str, str, str]]]
                ) -> Iterator[list[dict[str, str]]]:
        """The shortest paths from ``start`` to ``node``, one at a time (there may be many)."""
        if node == start:
            yield []
            return
        for source, rel, name in parents[node]:
            hop = {"from": self._twins.id_of(source),
                   "relationshipId": self._twins.relationship_ids(rel)["$relationshipId"],
                   "name": self._twins.compact(name), "to": self._twins.id_of(node)}
            for prefix in self._unwind(source, start, parents):
                yield [*prefix, hop]
