"""The twins an equality filter of a listing holds for, kept between listings.

A page of ``?where=floor eq 5`` starts from the twins whose own graph states that value
(``NavigationService``): one index lookup, but at a million twins one that returns 25,000 of
them (150-390 ms), for every page. They are kept here, in IRI order, by lookup, with the
journal head they were read at; a later page brings them up to date from the IRIs the events
since then touched, asking the store about those alone. Those IRIs come from the twin
index's own catch-up (``TwinIndex.touched_after``), so the events are read once for both.
The store still checks every page's candidates, so a stale member costs a look-up, never a
wrong row.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from sys import intern

from semtwin.rdf import NamedNode
from semtwin.services.twin_index import TwinIndex
from semtwin.store import SelectResult

KEPT = 64
"""Lookups whose holders are kept (least recently used first out)."""
KEPT_HOLDERS = 1_000_000
"""Holders kept in all, at most (about 8 bytes each: the IRIs are interned, so the twin
index's lists and these share one copy of each)."""
_TOUCHED_BATCH = 500


class EqualityHolders:
    def __init__(self, index: TwinIndex, select: Callable[[str], SelectResult],
                 limit: int) -> None:
        """``select`` runs a query on the store; ``limit``: a lookup holding for more twins
        than this gives None (a listing then walks the type instead)."""
        self._index = index
        self._select = select
        self._limit = limit
        self._lock = threading.Lock()
        # by lookups: (journal head read at, holders in IRI order or None: too many)
        self._kept: OrderedDict[tuple[str, ...], tuple[int, list[str] | None]] = OrderedDict()
        self._reading: dict[tuple[str, ...], threading.Event] = {}

    def holders(self, lookups: Sequence[str]) -> list[str] | None:
        """The subjects every lookup (a pattern binding ``?t``) finds, now, in IRI order;
        None when one finds more than the limit."""
        key = tuple(sorted(lookups))
        while True:
            with self._lock:
                kept = self._kept.get(key)
                if kept is not None:
                    self._kept.move_to_end(key)
            head, touched = self._index.touched_after(kept[0] if kept is not None else None)
            if kept is not None and kept[0] == head:
                return kept[1]
            with self._lock:
                reading = self._reading.get(key)
                if reading is None:  # this thread reads; others asking meanwhile wait for it
                    self._reading[key] = threading.Event()
                    break
            reading.wait()
        try:
            return self._bring_up(key, head, kept, touched)
        finally:
            with self._lock:
                self._reading.pop(key).set()

    def _bring_up(self, key: tuple[str, ...], head: int,
                  kept: tuple[int, list[str] | None] | None,
                  touched: frozenset[str] | None) -> list[str] | None:
        found: list[str] | None
        if kept is not None and touched is not None and kept[1] is None:
            # too many: a few writes do not make them few (their pages walk the type, which
            # is right whatever the holders), so the lookup is not read again for each
            # page after writes; it is once the touched IRIs are no longer known
            found = None
        elif kept is not None and kept[1] is not None and touched is not None:
            found = sorted({iri for iri in kept[1] if iri not in touched}
                           | self._holding(key, sorted(touched)))
        else:
            read = self._read(key)
            found = None if read is None else sorted(read)
        # read at ``head`` or later: labelled ``head``, a later catch-up asks again about
        # what changed meanwhile, which is harmless
        with self._lock:
            self._kept[key] = (head, found)
            self._kept.move_to_end(key)
            held = sum(len(kept[1] or ()) for kept in self._kept.values())
            while len(self._kept) > KEPT or (held > KEPT_HOLDERS and len(self._kept) > 1):
                _, (_, dropped) = self._kept.popitem(last=False)
                held -= len(dropped or ())
        return found

    def _read(self, lookups: tuple[str, ...]) -> frozenset[str] | None:
        holders: frozenset[str] | None = None
        for lookup in sorted(lookups, key=len):
            found = frozenset(self._subjects(f"SELECT ?t WHERE {{ {lookup} }} "
                                             f"LIMIT {self._limit + 1}"))
            if len(found) > self._limit:
                return None
            holders = found if holders is None else holders & found
            if not holders:
                break
        return holders or frozenset()

    def _holding(self, lookups: tuple[str, ...], iris: list[str]) -> frozenset[str]:
        """Those of ``iris`` every lookup finds."""
        found: set[str] = set()
        for start in range(0, len(iris), _TOUCHED_BATCH):
            values = " ".join(f"<{iri}>" for iri in iris[start:start + _TOUCHED_BATCH])
            found.update(self._subjects(
                f"SELECT DISTINCT ?t WHERE {{ VALUES ?t {{ {values} }} {' '.join(lookups)} }}"))
        return frozenset(found)

    def _subjects(self, query: str) -> list[str]:
        return [intern(row[0].value) for row in self._select(query).rows
                if isinstance(row[0], NamedNode)]
