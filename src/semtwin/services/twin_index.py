"""Twins in IRI order, all of them and by the classes their own graphs state, kept current
from the journal.

A listing page is "the first N twins after the cursor, in IRI order, that match": in SPARQL
that is ``ORDER BY ... LIMIT``, and the engines sort every match for each page (Oxigraph
decodes both terms at every comparison: 14 s for the 200,000 VAVs of a 1M-twin store). Here
the order is kept in sorted lists; a page walks the candidates after the cursor and asks
the store which of them match, a chunk at a time (``NavigationService``). The store stays
the judge of what matches, so a stale entry can only cost a lookup, never a wrong row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from itertools import islice
from sys import intern

from sortedcontainers import SortedList

from semtwin.rdf import NamedNode
from semtwin.services.pipeline import ETAG, META, ST, WritePipeline
from semtwin.store import SelectResult, TwinStore

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
TYPE = NamedNode(RDF_TYPE)
_REBUILD_AFTER = 5000
_REREAD_BATCH = 200
_BLOCK = 1000
_SELECTIONS_KEPT = 64


class TwinIndex:
    def __init__(self, store: TwinStore, pipeline: WritePipeline,
                 is_twin: Callable[[str], bool]) -> None:
        """``is_twin``: whether an IRI with an ETag is a twin's (relationships and model
        versions have ETags too)."""
        self._store = store
        self._pipeline = pipeline
        self._is_twin = is_twin
        self._lock = threading.Lock()
        self._seq = -1
        self._all: SortedList = SortedList()
        self._by_type: dict[str, SortedList] = {}
        # the same members as sets, for membership tests (``select``): a SortedList answers
        # ``in`` in about 3 us, a set in 0.1 us
        self._all_set: set[str] = set()
        self._type_sets: dict[str, set[str]] = {}
        # recent selections, by classes and list: (list selected from, index head, answer)
        self._selected: dict[tuple[frozenset[str] | None, int],
                             tuple[Sequence[str], int, list[str]]] = {}

    def after(self, classes: Iterable[str] | None, cursor: str | None) -> Iterator[str]:
        """Twin IRIs greater than ``cursor``, in IRI order: every twin, or those stating one
        of ``classes``. Read a block at a time, so writes meanwhile may or may not show."""
        with self._lock:
            self._catch_up()
        last = cursor
        while True:
            with self._lock:
                lists = [self._all] if classes is None else [
                    self._by_type[c] for c in classes if c in self._by_type]
                items: set[str] = set()
                bound: str | None = None  # past it, a truncated list may hold more
                for members in lists:
                    taken = list(islice(members.irange(minimum=last, inclusive=(False, False))
                                        if last is not None else iter(members), _BLOCK))
                    items.update(taken)
                    if len(taken) == _BLOCK:
                        bound = taken[-1] if bound is None else min(bound, taken[-1])
            block = sorted(i for i in items if bound is None or i <= bound)
            yield from block
            if bound is None or not block:
                return
            last = block[-1]

    def select(self, iris: Sequence[str], classes: Collection[str] | None) -> list[str]:
        """Those of ``iris`` that are twins (stating one of ``classes``, when given), in the
        order given. The answer for the same list (the same object: ``EqualityHolders``
        keeps its lists) and classes is kept until the index changes: at a million twins a
        list of 25,000 takes 24 ms to select."""
        # the entry holds the list, so its id is not reused while the entry is kept
        key = (frozenset(classes) if classes is not None else None, id(iris))
        with self._lock:
            self._catch_up()
            kept = self._selected.get(key)
            if kept is not None and kept[0] is iris and kept[1] == self._seq:
                return kept[2]
            twins = self._all_set
            if classes is None:
                chosen = [iri for iri in iris if iri in twins]
            else:
                sets = [self._type_sets[c] for c in classes if c in self._type_sets]
                if len(sets) == 1:
                    chosen = [iri for iri in iris if iri in sets[0] and iri in twins]
                else:
                    chosen = [iri for iri in iris
                              if iri in twins and any(iri in members for members in sets)]
            self._selected[key] = (iris, self._seq, chosen)
            while len(self._selected) > _SELECTIONS_KEPT:
                self._selected.pop(next(iter(self._selected)))
            return chosen

    # -- keeping current ----------------------------------------------------------------------
    def _catch_up(self) -> None:
        head = self._pipeline.journal_head()
        if self._seq < 0 or head < self._seq or \
                head - self._seq > max(_REBUILD_AFTER, len(self._all) // 10):
            self._build(head)
        elif head > self._seq:
            self._reread(sorted(self._pipeline.touched_since(self._seq, head)))
        self._seq = head

    def _build(self, head: int) -> None:
        twins = [intern(q.subject.value) for q in self._store.quads(None, ETAG, None, META)
                 if isinstance(q.subject, NamedNode) and self._is_twin(q.subject.value)]
        typed: dict[str, list[str]] = {}
        for q in self._store.quads(None, TYPE, None, None):
            if (isinstance(q.subject, NamedNode) and q.graph_name == q.subject
                    and isinstance(q.object, NamedNode)):
                typed.setdefault(q.object.value, []).append(intern(q.subject.value))
        self._all = SortedList(twins)
        self._by_type = {c: SortedList(members) for c, members in typed.items()}
        self._all_set = set(twins)
        self._type_sets = {c: set(members) for c, members in typed.items()}
        self._seq = head

    def _reread(self, iris: list[str]) -> None:
        for start in range(0, len(iris), _REREAD_BATCH):
            chunk = iris[start:start + _REREAD_BATCH]
            values = " ".join(f"<{i}>" for i in chunk)
            exists = {row[0] for row in self._select(
                f"SELECT ?t WHERE {{ VALUES ?t {{ {values} }} "
                f"GRAPH {META} {{ ?t <{ST}etag> ?e }} }}") if self._is_twin(row[0])}
            types: dict[str, list[str]] = {}
            for t, c in self._select(
                    f"SELECT ?t ?c WHERE {{ VALUES ?t {{ {values} }} "
                    f"GRAPH ?t {{ ?t <{RDF_TYPE}> ?c }} FILTER(isIRI(?c)) }}"):
                types.setdefault(t, []).append(c)
            for iri in chunk:
                name = intern(iri)
                self._all.discard(name)
                self._all_set.discard(name)
                for members in self._by_type.values():
                    members.discard(name)
                for member_set in self._type_sets.values():
                    member_set.discard(name)
                if iri in exists:
                    self._all.add(name)
                    self._all_set.add(name)
                for c in types.get(iri, ()):
                    self._by_type.setdefault(c, SortedList()).add(name)
                    self._type_sets.setdefault(c, set()).add(name)

    def _select(self, query: str) -> list[tuple[str, ...]]:
        result = self._store.query(query, union_default_graph=False)
        assert isinstance(result, SelectResult)
        return [tuple(term.value for term in row) for row in result.rows  # type: ignore[union-attr]
                if all(isinstance(term, NamedNode) for term in row)]
