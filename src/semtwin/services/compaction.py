"""Background compaction of the embedded store when one resource has been rewritten often.

Every update of a twin deletes its old statements, and RocksDB keeps each as a tombstone
that every read of the twin steps over until a compaction reaches it: a twin a device
updates all day slows down to read and to update (docs/operations.md). Once any resource
has been rewritten ``after`` times since the last compaction (its statements deleted or
replaced; a SPARQL update counts for each resource it deletes from), the store is compacted
in a background thread, at most one at a time and at most a twentieth of the time (the next
may start twenty times its duration after the last ended), so a large store, whose
compaction takes seconds, is not kept busy compacting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from semtwin.rdf import NamedNode
from semtwin.services.pipeline import Changeset
from semtwin.store import TwinStore

log = logging.getLogger(__name__)
DUTY = 20
"""Time between compactions, at least, as a multiple of the last one's duration."""
_TRACKED = 100_000
"""Resources counted at once; past that the counts start again (a compaction is delayed,
never wrongly run)."""


def _rewritten(changeset: Changeset) -> set[str]:
    """The resources whose statements the change deletes, which is where tombstones land:
    the graphs it clears or drops (a twin or relationship replaced or deleted), the subjects
    of the statements it removes (a SPARQL update names them one by one), and its subject
    when its metadata is rewritten. A change that only adds (an ``INSERT DATA``) leaves
    none."""
    keys = {graph.value for graph in [*changeset.clear_graphs, *changeset.drop_graphs]
            if isinstance(graph, NamedNode)}
    keys.update(quad.subject.value for quad in changeset.remove
                if isinstance(quad.subject, NamedNode))
    if changeset.new_etag is not None:
        keys.add(changeset.subject.value)
    return keys


class Compactor:
    def __init__(self, store: TwinStore, after: int) -> None:
        self._store = store
        self._after = after if store.capabilities.in_process else 0
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_allowed = 0.0
        self.runs = 0
        """Compactions started (for tests and the health report)."""

    def note(self, changesets: Sequence[Changeset]) -> None:
        """Count committed writes per resource; start a compaction when one is hot."""
        if self._after <= 0:
            return
        with self._lock:
            hot = False
            for changeset in changesets:
                for key in _rewritten(changeset):
                    count = self._counts.get(key, 0) + 1
                    self._counts[key] = count
                    hot = hot or count >= self._after
            if len(self._counts) > _TRACKED:
                self._counts.clear()
            if not hot or self._thread is not None or time.monotonic() < self._next_allowed:
                return
            self._counts.clear()  # what is written from here on, the next one compacts
            self.runs += 1
            self._thread = threading.Thread(target=self._run, name="semtwin-compaction",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            self._store.compact()
        except Exception:
            log.exception("background compaction failed")
        took = time.monotonic() - started
        log.info("store compacted in %.2f s (a resource was written %d times)", took,
                 self._after)
        with self._lock:
            self._next_allowed = time.monotonic() + DUTY * took
            self._thread = None

    def close(self) -> None:
        """Wait for a running compaction (the store must not close under it)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()
