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
from semtwin.services.pipeline import META, ST, WritePipeline
from semtwin.store import SelectResult, TwinStore

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_REBUILD_AFTER = 5000
_REREAD_BATCH = 200
_BLOCK = 1000
_SELECTIONS_KEPT = 64
TOUCHED_KEPT = 1000
"""Events whose touched IRIs are kept for ``touched_after``."""


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
        # built when first asked for, each from one query: every twin (``None``) and the
        # twins of each class asked for (a class's subclasses are classes too); a listing of
        # one class does not wait for the whole store to be read (at 1M twins: 3.7-4.4 s for the
        # 262,000 VAVs against 39-62 s for every twin and every class)
        self._lists: dict[str | None, SortedList] = {}
        # the same members as sets, for membership tests (``select``): a SortedList answers
        # ``in`` in about 3 us, a set in well under 1 us
        self._sets: dict[str | None, set[str]] = {}
        # recent selections, by classes and list: (list selected from, index head, answer)
        self._selected: dict[tuple[frozenset[str] | None, int],
                             tuple[Sequence[str], int, list[str]]] = {}
        # what the recent catch-ups found touched: (journal head from, to, IRIs)
        self._touched: list[tuple[int, int, frozenset[str]]] = []

    def after(self, classes: Iterable[str] | None, cursor: str | None) -> Iterator[str]:
        """Twin IRIs greater than ``cursor``, in IRI order: every twin, or those stating one
        of ``classes``. Read a block at a time, so writes meanwhile may or may not show."""
        keys: list[str | None] = [None] if classes is None else list(classes)
        with self._lock:
            self._catch_up()  # once: on a remote store the journal head is a query
        last = cursor
        while True:
            with self._lock:
                self._build(keys)  # again if another thread's catch-up forgot them
                items: set[str] = set()
                bound: str | None = None  # past it, a truncated list may hold more
                for key in keys:
                    members = self._lists[key]
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
        keys: list[str | None] = [None] if classes is None else list(classes)
        with self._lock:
            self._catch_up()
            kept = self._selected.get(key)
            if kept is not None and kept[0] is iris and kept[1] == self._seq:
                return kept[2]
            self._build(keys)
            sets = [self._sets[k] for k in keys]
            if classes is None:
                chosen = [iri for iri in iris if iri in sets[0]]
            elif len(sets) == 1:
                chosen = [iri for iri in iris if iri in sets[0] and self._is_twin(iri)]
            else:
                chosen = [iri for iri in iris
                          if any(iri in members for members in sets) and self._is_twin(iri)]
            self._selected[key] = (iris, self._seq, chosen)
            while len(self._selected) > _SELECTIONS_KEPT:
                self._selected.pop(next(iter(self._selected)))
            return chosen

    def touched_after(self, after: int | None) -> tuple[int, frozenset[str] | None]:
        """The journal head now, and the IRIs the events after ``after`` touched, from this
        index's own catch-ups (so ``EqualityHolders`` does not read those events again);
        None when they are no longer known (more than ``TOUCHED_KEPT`` events ago, or
        ``after`` is None)."""
        with self._lock:
            self._catch_up()
            if after is None:
                return self._seq, None
            if after == self._seq:
                return self._seq, frozenset()
            spans = [span for span in self._touched if span[1] > after]
            if not spans or spans[0][0] > after:
                return self._seq, None
            # a span may begin before ``after``: more IRIs than needed, asked about again
            return self._seq, frozenset().union(*(touched for _, _, touched in spans))

    # -- keeping current ----------------------------------------------------------------------
    def _catch_up(self) -> None:
        head = self._pipeline.journal_head()
        known = sum(len(members) for members in self._lists.values())
        if self._seq < 0 or head < self._seq or \
                head - self._seq > max(_REBUILD_AFTER, known // 10):
            # read again when next asked for; what is read then is current
            self._lists, self._sets, self._selected, self._touched = {}, {}, {}, []
        elif head > self._seq:
            touched = frozenset(self._pipeline.touched_since(self._seq, head))
            self._reread(sorted(touched))
            self._touched.append((self._seq, head, touched))
            while self._touched and self._touched[0][1] <= head - TOUCHED_KEPT:
                self._touched.pop(0)
        self._seq = head

    def _build(self, keys: list[str | None]) -> None:
        """Read the lists not yet built (under the lock, after ``_catch_up``: they hold the
        store as it is now, which is at ``_seq`` or later; a later catch-up asks again about
        what changed meanwhile, which is harmless)."""
        for key in keys:
            if key in self._lists:
                continue
            if key is None:
                found = [row[0] for row in self._select(
                    f"SELECT ?t WHERE {{ GRAPH {META} {{ ?t <{ST}etag> ?e }} }}")
                    if self._is_twin(row[0])]
            else:
                found = [row[0] for row in self._select(
                    f"SELECT ?t WHERE {{ GRAPH ?t {{ ?t a {NamedNode(key)} }} }}")]
            members = [intern(iri) for iri in found]
            self._lists[key] = SortedList(members)
            self._sets[key] = set(members)

    def _reread(self, iris: list[str]) -> None:
        """Ask the store again about these IRIs, for the lists built."""
        for start in range(0, len(iris), _REREAD_BATCH):
            chunk = iris[start:start + _REREAD_BATCH]
            values = " ".join(f"<{i}>" for i in chunk)
            exists: set[str] = set()
            if None in self._lists:
                exists = {row[0] for row in self._select(
                    f"SELECT ?t WHERE {{ VALUES ?t {{ {values} }} "
                    f"GRAPH {META} {{ ?t <{ST}etag> ?e }} }}") if self._is_twin(row[0])}
            types: dict[str, list[str]] = {}
            if any(key is not None for key in self._lists):  # a class's list is built
                for t, c in self._select(
                        f"SELECT ?t ?c WHERE {{ VALUES ?t {{ {values} }} "
                        f"GRAPH ?t {{ ?t <{RDF_TYPE}> ?c }} FILTER(isIRI(?c)) }}"):
                    types.setdefault(t, []).append(c)
            for iri in chunk:
                name = intern(iri)
                for members in self._lists.values():
                    members.discard(name)
                for member_set in self._sets.values():
                    member_set.discard(name)
                held: list[str | None] = [None] if iri in exists else []
                held += types.get(iri, [])
                for key in held:
                    if key in self._lists:
                        self._lists[key].add(name)
                        self._sets[key].add(name)

    def _select(self, query: str) -> list[tuple[str, ...]]:
        result = self._store.query(query, union_default_graph=False)
        assert isinstance(result, SelectResult)
        return [tuple(term.value for term in row) for row in result.rows  # type: ignore[union-attr]
                if all(isinstance(term, NamedNode) for term in row)]
