"""The one write pipeline: a changeset, its preconditions and its journal event, committed
as one SPARQL Update request, so it is atomic wherever the store makes one update request
atomic, and works the same on the embedded and on remote stores.

The request's first operation claims the next journal sequence number *and* checks the
preconditions (ETag) in one ``DELETE/INSERT ... WHERE``; every later operation is conditioned
on the event that first operation wrote. If a precondition fails, the first operation
matches nothing, and so does every other: nothing is written, no event exists.

On an in-process store, which only this pipeline writes, the same checks are look-ups made
under the write lock, and the update that follows writes the change as data
(``_commit_direct``).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import itertools
import json
import logging
import re
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from semtwin.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    SemtwinError,
    StoreUnavailable,
    UnprocessableContent,
)
from semtwin.jsontext import json_bytes
from semtwin.rdf import (
    BlankNode,
    DefaultGraph,
    GraphName,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Term,
    serialize,
    sparql_term,
)
from semtwin.services.inline import LARGE_CHANGE, NoWait
from semtwin.services.writelock import WriteLock
from semtwin.store import SelectResult, TwinStore

log = logging.getLogger(__name__)
ST = "https://semtwin.dev/ns#"
JOURNAL = NamedNode("urn:semtwin:journal")
META = NamedNode("urn:semtwin:meta")
ETAG = NamedNode(ST + "etag")
"""A twin's (relationship's, model's) ETag, in ``META``: what makes it exist."""
UPDATED = NamedNode(ST + "updated")
PROPERTY_TIMES = NamedNode(ST + "propertyTimes")
RECORD = NamedNode(ST + "record")
IDEMPOTENCY_KEY = NamedNode(ST + "idempotencyKey")
DATETIME = NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
SEQ = NamedNode(ST + "seq")
EVENT = "urn:semtwin:event:"
"""Journal entry ``n`` is ``<urn:semtwin:event:n>``."""
RESERVED = "urn:semtwin:"
"""semtwin's own graphs (journal, metadata, model versions) are named under this: only
semtwin writes them, no client door (SPARQL Update, Graph Store) may."""
IMPORTS = "urn:semtwin:import:"
"""Except an import's graph (the AAS data it brought, its provenance): the client's to edit or
drop, so that the same shells can be imported again."""


def check_not_reserved(graph: GraphName) -> None:
    if (isinstance(graph, NamedNode) and graph.value.startswith(RESERVED)
            and not graph.value.startswith(IMPORTS)):
        raise InvalidInput(f"the graph {graph.value} is reserved for semtwin (journal, "
                           "metadata, models); change it through the API")


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def check_xml_characters(quads: Sequence[Quad]) -> None:
    """Refuse literals with characters XML 1.0 cannot carry, not even escaped (control
    characters other than tab, line feed and carriage return): stored, they would make every
    RDF/XML export and every SPARQL XML result that includes them malformed, which is what
    SPARQLWrapper asks for by default."""
    for quad in quads:
        value = quad.object.value if isinstance(quad.object, Literal) else ""
        found = _NOT_IN_XML.search(value)
        if found:
            raise InvalidInput(
                f"the literal of {quad.subject} {quad.predicate} contains "
                f"U+{ord(found.group()):04X} at character {found.start() + 1}: XML (RDF/XML, "
                "SPARQL XML results) cannot carry control characters other than tab, line "
                "feed and carriage return")


@dataclass(frozen=True)
class Precondition:
    subject: NamedNode
    if_match: str | None = None
    """The subject's current ETag must be this."""
    must_not_exist: bool = False
    """``If-None-Match: *``: the subject must have no ETag yet."""
    must_exist: bool = False
    others_exist: tuple[NamedNode, ...] = ()
    """Other resources (a relationship's target) that must exist; else 422."""
    owner: NamedNode | None = None
    """The twin the subject belongs to (a relationship's source), which must exist; else
    404."""
    no_relationships: bool = False
    """The subject is no relationship's source or target; else 409."""


@dataclass
class Changeset:
    event_type: str
    subject: NamedNode
    remove: Sequence[Quad] = ()
    add: Sequence[Quad] = ()
    clear_graphs: Sequence[GraphName] = ()
    """Graphs whose whole content is removed before ``add`` (replace and delete)."""
    create_graphs: Sequence[NamedNode] = ()
    """Named graphs to exist even if empty (Graph Store PUT/POST); no preconditions."""
    drop_graphs: Sequence[NamedNode] = ()
    """Named graphs removed with their content (Graph Store DELETE); no preconditions."""
    precondition: Precondition | None = None
    new_etag: str | None = None
    """The subject's ETag after the change; None removes its metadata (a delete)."""
    metadata: bool = True
    """Whether the change writes its subject's metadata (``new_etag``); False leaves it as it
    is, or to ``remove``/``add`` (Graph Store writes, whose subject is the graph)."""
    idempotency_key: str | None = None
    """Claimed in the same transaction: a second change with this key is refused."""
    forget: Sequence[NamedNode] = ()
    """Other resources whose metadata goes too (relationships removed by a cascade)."""
    data: dict[str, Any] = field(default_factory=dict)
    actor: str | None = None
    request_id: str | None = None
    validate: bool = True
    """Checked against the active shapes before it commits (model uploads are not: their
    impact is checked when they are activated)."""
    batched: bool = False
    """Part of a ``commit_all`` of several changesets."""
    property_times: dict[str, str | None] | None = None
    """A twin's per-property update times, kept with its metadata; None: this commit's."""
    rebase: Callable[[], None] | None = None
    """Runs under the write lock just before the change is written, when the version it was
    planned on (its precondition's ``if_match``) is no longer the stored one, or it has none:
    brings what the change says about the version it replaces (event data, kept times,
    precondition) up to the stored version (writes without a client precondition)."""
    rebase_always: bool = False
    """Run ``rebase`` whatever the subject's version (a cascade delete: the relationships it
    takes along change without their twin's ETag)."""
    companions: Sequence[Changeset] = ()
    """Changesets committed just before this one in the same transaction, each with its own
    event (a cascade delete's relationship deletions); a ``rebase`` may replace them."""
    known_content: tuple[str, GraphName, Sequence[Quad]] | None = field(
        default=None, repr=False, compare=False)
    """(ETag, graph, content): a graph the change clears, as read after its subject's ETag
    was read as that one. Every commit that writes a twin's graph gives it a new ETag, so
    while the ETag is still that one under the write lock, the content is current and an
    in-process pipeline does not read it again."""
    reads: CommitReads | None = field(default=None, repr=False, compare=False)
    """Set by an in-process pipeline while it commits the changeset: the look-ups made under
    the write lock, so that validation and the update do not repeat them."""


    def adopt(self, other: Changeset) -> None:
        """Take what ``other``, the same change planned again against a newer version,
        says (a ``rebase`` hook's work); who made the change and its key stay."""
        self.event_type, self.add, self.remove = other.event_type, other.add, other.remove
        self.clear_graphs, self.forget = other.clear_graphs, other.forget
        self.precondition, self.new_etag = other.precondition, other.new_etag
        self.data, self.property_times = other.data, other.property_times
        self.companions, self.known_content = other.companions, other.known_content


WriteCheck = Callable[[Changeset], None]


class AlreadyApplied(Exception):
    """A change with this Idempotency-Key was committed before; nothing more was written."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class CommitReads:
    """Look-ups of one commit under the write lock, each made once: a subject's metadata
    (its ETag for the preconditions, and whether the update has metadata to remove) and a
    cleared graph's content (what validation sees removed, and whether the update has
    content to remove). A create asked the store for each twice (ADR 0012, session 15)."""

    def __init__(self, store: TwinStore) -> None:
        self._store = store
        self._meta: dict[NamedNode, list[Quad]] = {}
        self._graphs: dict[GraphName, list[Quad]] = {}
        self._occupied: dict[GraphName, bool] = {}

    def metadata(self, subject: NamedNode) -> list[Quad]:
        found = self._meta.get(subject)
        if found is None:
            found = self._meta[subject] = list(self._store.quads(subject, None, None, META))
        return found

    def etag(self, subject: NamedNode) -> str | None:
        for quad in self.metadata(subject):
            if quad.predicate == ETAG and isinstance(quad.object, Literal):
                return quad.object.value
        return None

    def graph(self, graph: GraphName) -> list[Quad]:
        """The graph's whole content (validation reads it all). A named graph the store does
        not know is empty: a point look-up, where the pattern seeks (7 against 20 us on the
        100k-twin store: a create's graph is new)."""
        found = self._graphs.get(graph)
        if found is None:
            known = isinstance(graph, DefaultGraph) or self._store.graph_exists(graph)
            found = list(self._store.quads(None, None, None, graph)) if known else []
            self._graphs[graph] = found
        return found

    def know(self, known: tuple[str, GraphName, Sequence[Quad]], subject: NamedNode) -> None:
        """Take a changeset's ``known_content`` as the graph's content if the subject's ETag
        is still the one it was read under."""
        etag, graph, content = known
        if graph not in self._graphs and self.etag(subject) == etag:
            self._graphs[graph] = list(content)

    def read_graph(self, graph: GraphName) -> list[Quad] | None:
        """The graph's content if ``graph`` read it, else None (nothing is read)."""
        return self._graphs.get(graph)

    def occupied(self, subject: NamedNode | None, graph: GraphName) -> bool:
        """Whether the graph holds a statement (about ``subject``, if given)."""
        if subject is not None and graph == META:
            return bool(self.metadata(subject))
        if subject is None and graph in self._graphs:
            return bool(self._graphs[graph])
        if subject is None:  # asked by ``_as_data`` and again by ``_change_operations``
            found = self._occupied.get(graph)
            if found is None:
                found = self._occupied[graph] = next(
                    iter(self._store.quads(None, None, None, graph)), None) is not None
            return found
        return next(iter(self._store.quads(subject, None, None, graph)), None) is not None


@dataclass(frozen=True)
class Committed:
    seq: int
    event_id: str
    time: str
    etag: str | None


class WritePipeline:
    def __init__(self, store: TwinStore, write_lock: WriteLock | None = None,
                 no_wait: NoWait | None = None, *, inline_writes: bool = True) -> None:
        self._store = store
        self._write_lock = write_lock
        self.no_wait = no_wait or NoWait()
        """Whether this thread may wait for the write lock (``services/inline.py``)."""
        self._inline_writes = inline_writes
        if (write_lock is None and not store.capabilities.in_process
                and not store.capabilities.extra.get("serializable_updates", False)):
            log.warning("%s does not serialize concurrent updates: run one writing API "
                        "process over it, or give every process the same SEMTWIN_WRITE_LOCK "
                        "file (docs/operations.md)", store.capabilities.name)
        # Writes of one process are serialized, so its sequence claims and ETag checks never
        # race; between processes over a remote store, the store's own update isolation
        # decides (docs/operations.md).
        self._lock = threading.Lock()
        self._owner: int | None = None
        """The thread holding the write lock through ``exclusive``."""
        self._empty_graphs = store.capabilities.extra.get("empty_graphs", True)
        self._stage_inserts = store.capabilities.extra.get("stage_inserts", False)
        self._direct = store.capabilities.in_process
        self._head: int | None = None
        """The journal head, kept on in-process stores only (see ``_commit_direct``)."""
        self._mark: int | None = None
        """What the stored head says on an in-process store: it lags the head by up to
        ``MARK_EVERY`` events (see ``_commit_direct``)."""
        self._ready = False
        self._head_current = False
        """A shared store's stored head was found at its last event (no lag to probe for)."""
        self.check: WriteCheck | None = None
        """Runs under the write lock before each commit; raises to refuse the change."""
        self.committed: Callable[[Sequence[Changeset]], None] | None = None
        """Told of every group of changesets once it is committed."""

    def ensure_journal(self) -> None:
        if self._ready:
            return
        with self.exclusive(wait=True):
            # Looked up first, then inserted as data: Virtuoso runs an INSERT whose WHERE is
            # only a FILTER NOT EXISTS even when the head exists, and a second head forks
            # the journal (every restart did). The write lock covers the gap between the two.
            stored = self._stored_head()
            if stored is None:
                self._store.update(
                    f"INSERT DATA {{ GRAPH {JOURNAL} {{ {JOURNAL} <{ST}seq> 0 }} }}")
            elif not self._direct:
                # an in-process pipeline that stopped without closing (kill -9) left the
                # stored head behind its last events: a shared store's updates claim their
                # numbers from the stored head, so it is brought up to them first
                head = self._last_event(stored)
                if head != stored:
                    self._store.update(_move_head(stored, head))
        self._ready = True

    def commit(self, changeset: Changeset, *, actor: str | None = None,
               request_id: str | None = None,
               idempotency_key: str | None = None) -> Committed:
        """Commit one changeset; the keyword arguments, when given, say who and which request
        made it (they go into its journal event)."""
        if actor is not None:
            changeset.actor = actor
        if request_id is not None:
            changeset.request_id = request_id
        if idempotency_key is not None:
            changeset.idempotency_key = idempotency_key
        return self.commit_all([changeset])[0]

    def commit_all(self, changesets: Sequence[Changeset]) -> list[Committed]:
        """Several changesets as one transaction: all their preconditions hold and all are
        written, each with its own journal event (consecutive sequence numbers), or nothing
        is written."""
        if not changesets:
            return []
        for changeset in changesets:
            check_xml_characters(changeset.add)
        self.ensure_journal()
        event_ids = [str(uuid.uuid4()) for _ in changesets]
        now = _now()
        for changeset in changesets:
            if (changeset.create_graphs or changeset.drop_graphs) and changeset.precondition:
                raise ValueError("graphs are created or dropped only by unconditional "
                                 "changesets")
        done = self._commit_text(changesets, event_ids, now, validate=True)
        if done is None and not self._head_exists():
            # the journal is gone (removed behind the pipeline: no client door can remove it,
            # SPARQL's DROP/CLEAR ALL leave it alone): start it again, retry once
            self._ready = False
            self.ensure_journal()
            done = self._commit_text(changesets, event_ids, now, validate=False)
        if done is None:
            for index, changeset in enumerate(changesets):
                try:
                    self._explain_failure(changeset)
                except (AlreadyApplied, SemtwinError) as err:
                    if len(changesets) > 1 and isinstance(err, SemtwinError):
                        err.extra["operation"] = index
                    raise
            raise StoreUnavailable("the store did not apply the change; nothing was written")
        written, seqs = done
        if self.committed is not None:
            self.committed(written)
        return [Committed(seq, event_id, now, cs.new_etag)
                for seq, event_id, cs in zip(seqs, event_ids, changesets, strict=True)]

    def _first_value(self, pattern: str) -> str | None:
        """The lexical value of ``?v`` in the first solution of a system-graph pattern."""
        result = self._store.query(f"SELECT ?v WHERE {{ {pattern} }} LIMIT 1",
                                   union_default_graph=False)
        assert isinstance(result, SelectResult)
        for row in result.rows:
            if isinstance(row[0], Literal):
                return row[0].value
        return None

    def _object(self, subject: NamedNode, predicate: str, graph: NamedNode) -> str | None:
        """The lexical value of the first object of (subject, predicate) in a system graph:
        an index lookup on an in-process store, a small query on a remote one."""
        if not self._direct:
            return self._first_value(f"GRAPH {graph} {{ {subject} <{predicate}> ?v }}")
        for quad in self._store.quads(subject, NamedNode(predicate), None, graph):
            if isinstance(quad.object, Literal):
                return quad.object.value
        return None

    def _seq_of(self, event_id: str) -> int | None:
        """The sequence number a shared store's update claimed for the event ``event_id``."""
        seq = self._first_value(
            f"GRAPH {JOURNAL} {{ ?e <{ST}id> {_lit(event_id)} ; <{ST}seq> ?v }}")
        return None if seq is None else int(seq)

    def _commit_text(self, changesets: Sequence[Changeset], event_ids: list[str], now: str,
                     *, validate: bool) -> tuple[list[Changeset], list[int]] | None:
        """Write the changesets, each after its companions, as one update: what was written
        and the sequence number of each of ``changesets``; None when a precondition did not
        hold. On an in-process store see ``_commit_direct``; elsewhere the update checks the
        preconditions and claims the sequence numbers itself, which are then looked up by
        the first event's id."""
        if sum(len(cs.add) + len(cs.remove) for cs in changesets) > LARGE_CHANGE:
            self.no_wait.refuse()  # a large update: not on the event loop
        with self.exclusive():
            for changeset in changesets:
                if changeset.rebase is not None and self._moved(changeset):
                    changeset.rebase()
            written: list[Changeset] = []
            ids: list[str] = []
            positions: list[int] = []
            for changeset, event_id in zip(changesets, event_ids, strict=True):
                written += changeset.companions
                ids += [str(uuid.uuid4()) for _ in changeset.companions]
                positions.append(len(written))
                written.append(changeset)
                ids.append(event_id)
            check = None
            if validate:  # what is validated is the change as rebased
                check = written[0] if len(written) == 1 else _combined(written)
            if self._direct:
                first = self._commit_direct(written, ids, now, check)
            else:
                prelude = _Prelude()
                update = _update_text_all(written, ids, now, empty_graphs=self._empty_graphs,
                                          stage_inserts=self._stage_inserts, prelude=prelude)
                self._apply_locked(update, check, prelude)
                first = self._seq_of(ids[0])
            if first is None:
                return None
            return written, [first + position for position in positions]

    def _commit_direct(self, changesets: Sequence[Changeset], event_ids: list[str], now: str,
                       check: Changeset | None) -> int | None:
        """The commit on an in-process store, under the write lock: only this pipeline
        writes the store, so the preconditions are checked by index look-ups here and the
        change is written as data, without the conditional operations a shared store needs
        (a create's update 1.9 ms instead of 2.25 ms in the server, and no look-up of the
        sequence number it claimed: ADR 0006, session 12). The journal head is kept in
        memory: looked up by pattern it would scan past the deleted heads of every earlier
        write, which RocksDB keeps as tombstones until compaction (0.7 ms a write after 20k
        writes). The stored head is a mark moved every ``MARK_EVERY`` events and at close
        (``_scan_head`` finds the events after it), so that most changes only insert: they
        are written as quads, without an update to parse (ADR 0012, session 15)."""
        if self._head is None:
            self._head = self._scan_head()
        head, mark = self._head, self._mark
        if head is None or mark is None or not self._has(*_seq_statement(JOURNAL, mark)):
            self._head = self._mark = None
            # the stored head is not where this process left it: the store was written
            # behind the pipeline; the caller restarts a journal that is gone
            return None
        # one changeset: what is empty before the update stays so until its own operations
        # (several may write what a later one clears)
        reads = CommitReads(self._store) if len(changesets) == 1 else None
        if not all(self._holds(cs, reads) for cs in changesets):
            return None
        if reads is not None and changesets[0].known_content is not None:
            reads.know(changesets[0].known_content, changesets[0].subject)
        if check is not None and self.check is not None:
            check.reads = reads
            try:
                self.check(check)
            finally:
                check.reads = None
        new_head = head + len(changesets)
        move = (mark, new_head) if new_head - mark >= MARK_EVERY else None
        quads = None if move else _data_quads(changesets, event_ids, now, head, reads)
        if quads is not None:
            self._store.add_quads(quads)
        else:
            self._store.update(_data_update_text(changesets, event_ids, now, head, move,
                                                 empty_graphs=self._empty_graphs,
                                                 reads=reads))
            if move:
                self._mark = new_head
        self._head = new_head
        return head + 1

    @property
    def writes_inline(self) -> bool:
        """Whether a small write may run on the event loop (``services/inline.py``): on an
        in-process store that no other process writes, where nothing outside this process
        can make it wait, unless switched off (``SEMTWIN_INLINE_WRITES``)."""
        return self._inline_writes and self._direct and self._write_lock is None

    @property
    def busy(self) -> bool:
        """Whether a write holds the write lock now (a hint: a write tried inline then would
        plan for nothing before it meets the lock)."""
        return self._lock.locked()

    def _moved(self, changeset: Changeset) -> bool:
        """Whether the version the changeset was planned on is no longer the stored one."""
        pre = changeset.precondition
        return (changeset.rebase_always or pre is None or pre.if_match is None
                or self.current_etag(pre.subject) != pre.if_match)

    def _has(self, subject: NamedNode | None, predicate: NamedNode | None, obj: Term | None,
             graph: GraphName | None) -> bool:
        if (subject is not None and predicate is not None and obj is not None
                and graph is not None):
            return self._store.contains(Quad(subject, predicate, obj, graph))
        return next(iter(self._store.quads(subject, predicate, obj, graph)), None) is not None

    def _holds(self, changeset: Changeset, reads: CommitReads | None = None) -> bool:
        """Whether the changeset's preconditions and idempotency key hold now (what the
        first operation of a shared store's update checks)."""
        key = changeset.idempotency_key
        if key is not None and self._has(None, NamedNode(ST + "idempotencyKey"),
                                         Literal(key), JOURNAL):
            return False
        pre = changeset.precondition
        if pre is None:
            return True
        current = (reads.etag(pre.subject) if reads is not None
                   else self.current_etag(pre.subject))
        if pre.if_match is not None and current != pre.if_match:
            return False
        if pre.must_not_exist and current is not None:
            return False
        if pre.must_exist and current is None:
            return False
        if pre.owner is not None and self.current_etag(pre.owner) is None:
            return False
        if any(self.current_etag(other) is None for other in pre.others_exist):
            return False
        return not (pre.no_relationships and any(
            self._has(None, NamedNode(ST + link), pre.subject, None)
            for link in ("source", "target")))

    def _apply(self, update: str, changeset: Changeset | None = None,
               prelude: _Prelude | None = None) -> None:
        with self.exclusive(wait=True):
            self._apply_locked(update, changeset, prelude)

    def close(self) -> None:
        """Leave the stored head at the last event (a restart need not look past it)."""
        with self._lock:
            head, mark = self._head, self._mark
            if self._direct and head is not None and mark is not None and head != mark:
                with contextlib.suppress(Exception):  # a closed store: the next open probes
                    self._store.update(_move_head(mark, head))
                    self._mark = head
        if self._write_lock is not None:
            self._write_lock.close()

    @contextlib.contextmanager
    def exclusive(self, *, wait: bool = False, across_processes: bool = True
                  ) -> Iterator[None]:
        """Hold the write lock (this process's, then the one shared between processes) for
        the body; a thread that holds it already just runs the body, so commits inside it
        do not wait for themselves. A SPARQL update plans under it: what its ``WHERE`` read
        is still what it writes over when it commits. ``wait``: block even in a no-wait
        section (``services/inline.py``), which otherwise raises ``WouldWait``."""
        if self._owner == threading.get_ident():
            yield
            return
        with (self._lock if wait else self.no_wait.holding(self._lock)), (
                self._across_processes() if across_processes else contextlib.nullcontext()):
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._owner = None

    def _across_processes(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext() if self._write_lock is None else self._write_lock.held()

    def _apply_locked(self, update: str, changeset: Changeset | None = None,
                      prelude: _Prelude | None = None) -> None:
        """Validate, then run the update. ``prelude``: requests that fill private staging
        graphs first (stores that cannot take large inserts in one request); the update
        copies them only if its preconditions hold, and drops them either way."""
        if changeset is not None and self.check is not None:
            self.check(changeset)
        try:
            for text in prelude.requests if prelude else ():
                self._store.update(text)
            self._store.update(update)
        except Exception:
            for graph in prelude.graphs if prelude else ():
                with contextlib.suppress(Exception):  # best effort: the error wins
                    self._store.update(f"DROP SILENT GRAPH {graph}")
            raise

    def journal_head(self) -> int:
        """The sequence number of the last committed change (0: none yet)."""
        head = self._head
        if head is not None:
            return head
        if not self._direct:
            stored = self._stored_head()
            if stored is None:
                return 0
            # a stored head left behind by an in-process pipeline (kill -9) lags its events
            # until a writer brings it up (``ensure_journal``); a read does not write (a
            # reader may hold a read-only credential), so it counts them, and stops probing
            # once the stored head is found at the last event: shared stores' commits move it
            if self._ready or self._head_current:
                return stored
            last = self._last_event(stored)
            self._head_current = last == stored
            return last
        with self.exclusive(wait=True, across_processes=False):
            # cached under the lock, so a commit cannot interleave a newer head
            if self._head is None:
                self._head = self._scan_head()
            return self._head or 0

    def _stored_head(self) -> int | None:
        value = self._object(JOURNAL, ST + "seq", JOURNAL)
        return int(value) if value else None

    def _scan_head(self) -> int | None:
        """The journal head read from the store: the stored head, and on an in-process
        store the events after it (its mark lags, see ``_commit_direct``)."""
        stored = self._stored_head()
        if stored is None or not self._direct:
            return stored
        self._mark = stored
        return self._last_event(stored)

    def _last_event(self, head: int) -> int:
        """The last of the events numbered consecutively from ``head + 1``, or ``head``."""
        if self._direct:
            while self._has(*_seq_statement(NamedNode(f"{EVENT}{head + 1}"), head + 1)):
                head += 1
            return head
        while True:
            batch = " ".join(f"<{EVENT}{head + i}>" for i in range(1, _PROBE + 1))
            result = self._store.query(
                f"SELECT ?s WHERE {{ GRAPH {JOURNAL} {{ VALUES ?e {{ {batch} }} "
                f"?e <{ST}seq> ?s }} }}", union_default_graph=False)
            assert isinstance(result, SelectResult)
            found = {int(row[0].value) for row in result.rows if isinstance(row[0], Literal)}
            last = head
            while last + 1 in found:
                last += 1
            if last < head + _PROBE:
                return last
            head = last

    def _head_exists(self) -> bool:
        return self._stored_head() is not None

    def current_etag(self, subject: NamedNode) -> str | None:
        return self._object(subject, ETAG.value, META)

    def _explain_failure(self, changeset: Changeset) -> None:
        if changeset.idempotency_key is not None and self.replay(
                changeset.idempotency_key) is not None:
            raise AlreadyApplied(changeset.idempotency_key)
        condition = changeset.precondition
        if condition is None:
            if changeset.batched:
                return
            raise StoreUnavailable("the store did not apply the change; nothing was written")
        current = self.current_etag(condition.subject)
        if current is None and (condition.must_exist or condition.if_match):
            raise NotFound(f"no {condition.subject.value}")
        if condition.must_not_exist and current is not None:
            raise PreconditionFailed("it already exists (If-None-Match: *)", etag=current)
        if condition.owner is not None and self.current_etag(condition.owner) is None:
            raise NotFound(f"no twin {condition.owner.value}")
        for other in condition.others_exist:
            if self.current_etag(other) is None:
                raise UnprocessableContent(f"the target twin {other.value} does not exist")
        if condition.no_relationships and (condition.if_match is None
                                           or condition.if_match == current):
            raise Conflict(f"{condition.subject.value} still has relationships; delete them "
                           "first or use ?cascade=true")
        if changeset.batched and (condition.if_match is None or condition.if_match == current) \
                and not (condition.must_not_exist and current is not None) \
                and not (current is None and (condition.must_exist or condition.if_match)):
            return  # this one holds: another changeset of the batch failed
        raise PreconditionFailed(
            f"the twin changed: its ETag is {current}, not {condition.if_match}",
            etag=current)

    def replay(self, key: str) -> dict[str, Any] | None:
        """What the first request with this Idempotency-Key answered: the stored response;
        until it is stored (just after the commit, or never if the process stopped in
        between), the event it committed, marked ``pending``."""
        result = self._store.query(
            f"SELECT ?seq ?response WHERE {{ GRAPH {JOURNAL} {{ ?e <{ST}idempotencyKey> "
            f"{_lit(key)} ; <{ST}seq> ?seq OPTIONAL {{ ?e <{ST}response> ?response }} }} }}",
            union_default_graph=False)
        assert isinstance(result, SelectResult)
        for seq, response in result.rows:
            if isinstance(response, Literal):
                stored: dict[str, Any] = json.loads(response.value)
                return stored
            return {"status": 200, "headers": {}, "pending": True,
                    "body": {"replayed": True, "sequence": int(seq.value)}}  # type: ignore[union-attr]
        return None

    def store_response(self, key: str, status: int, headers: dict[str, str],
                       body: Any, fingerprint: str | None = None) -> None:
        """Keep the response to the request that claimed ``key`` (and the fingerprint of
        that request, which a retry must match)."""
        response: dict[str, Any] = {"status": status, "headers": headers, "body": body}
        if fingerprint is not None:
            response["fingerprint"] = fingerprint
        document = json.dumps(response, separators=(",", ":"))
        self._apply(
            f"INSERT {{ GRAPH {JOURNAL} {{ ?e <{ST}response> {_lit(document)} }} }} "
            f"WHERE {{ GRAPH {JOURNAL} {{ ?e <{ST}idempotencyKey> {_lit(key)} }} "
            f"FILTER NOT EXISTS {{ GRAPH {JOURNAL} {{ ?e <{ST}response> ?r }} }} }}")

    def journal(self, after: int, limit: int) -> list[tuple[int, Changeset | None]]:
        """Journal entries in order, each with the changeset that redoes it (None for an
        entry written before changes were journaled)."""
        entries: list[tuple[int, Changeset | None]] = []
        for seq, record in self._records(after, limit):
            changes = record.get("changes")
            if changes is None:
                entries.append((seq, None))
                continue
            changeset = changeset_from(record["type"], record["subject"], record["data"],
                                       changes)
            changeset.actor = record.get("actor")
            changeset.request_id = record.get("request")
            entries.append((seq, changeset))
        return entries

    def _records(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The journal entries after ``after`` as (sequence number, record): the event's
        JSON record (``_event_record``), or, for an entry journaled before records (one
        statement a field, written before session 14), the same document read from its
        fields."""
        result = self._entries(
            "?seq ?record", f"?e <{ST}seq> ?seq OPTIONAL {{ ?e <{ST}record> ?record }} "
            f"FILTER(?e != {JOURNAL})", after, limit)
        rows = [(int(seq.value), record.value if isinstance(record, Literal) else None)
                for seq, record in result.rows if isinstance(seq, Literal)]
        legacy = self._legacy_records([seq for seq, record in rows if record is None])
        return [(seq, json.loads(record) if record is not None else legacy[seq])
                for seq, record in rows if record is not None or seq in legacy]

    def _legacy_records(self, seqs: list[int]) -> dict[int, dict[str, Any]]:
        if not seqs:
            return {}
        iris = " ".join(f"<{EVENT}{seq}>" for seq in seqs)
        result = self._store.query(
            f"SELECT ?seq ?id ?type ?subject ?time ?data ?changes ?actor ?request WHERE {{ "
            f"GRAPH {JOURNAL} {{ VALUES ?e {{ {iris} }} ?e <{ST}seq> ?seq ; <{ST}id> ?id ; "
            f"<{ST}type> ?type ; <{ST}subject> ?subject ; <{ST}time> ?time ; "
            f"<{ST}data> ?data . OPTIONAL {{ ?e <{ST}changes> ?changes }} "
            f"OPTIONAL {{ ?e <{ST}actor> ?actor }} OPTIONAL {{ ?e <{ST}request> ?request }} "
            f"}} }}", union_default_graph=False)
        assert isinstance(result, SelectResult)
        records: dict[int, dict[str, Any]] = {}
        for row in result.rows:
            values = {name: term.value for name, term in zip(result.variables, row, strict=True)
                      if isinstance(term, Literal | NamedNode)}
            record: dict[str, Any] = {
                "id": values["id"], "type": values["type"], "subject": values["subject"],
                "time": values["time"], "data": json.loads(values["data"])}
            for name in ("changes", "actor", "request"):
                if name in values:
                    record[name] = values[name]
            records[int(values["seq"])] = record
        return records

    def _entries(self, variables: str, pattern: str, after: int, limit: int) -> SelectResult:
        """The journal entries after ``after`` (at most ``limit``, in sequence order), found
        by their IRIs: sequence numbers are gap-free and entry ``n`` is
        ``urn:semtwin:event:n``, so a poll costs the same however long the journal grows (a
        scan for ``?seq > after`` took 114 ms at 12,000 entries). If any is not where
        expected (a journal written otherwise), the scan."""
        wanted = min(int(limit), max(self.journal_head() - int(after), 0))
        if wanted == 0:
            return SelectResult(variables.replace("?", "").split(), iter(()))
        iris = " ".join(f"<{EVENT}{seq}>" for seq in range(after + 1, after + wanted + 1))
        result = self._store.query(
            # VALUES inside the GRAPH block: outside it, Oxigraph joins it after a scan
            f"SELECT {variables} WHERE {{ GRAPH {JOURNAL} {{ VALUES ?e {{ {iris} }} {pattern} "
            f"}} }} ORDER BY ?seq", union_default_graph=False)
        assert isinstance(result, SelectResult)
        rows = list(result.rows)
        if len(rows) == wanted:
            return SelectResult(result.variables, iter(rows))
        scanned = self._store.query(
            f"SELECT {variables} WHERE {{ GRAPH {JOURNAL} {{ {pattern} "
            f"FILTER(?seq > {int(after)}) }} }} ORDER BY ?seq LIMIT {int(limit)}",
            union_default_graph=False)
        assert isinstance(scanned, SelectResult)
        return scanned

    def touched_since(self, after: int, head: int) -> set[str]:
        """The IRIs of the resources the events after ``after`` (up to ``head``) may have
        created, changed or deleted: their subjects, twin IRIs and the twins a SPARQL
        update touched. Safe to put between ``<`` and ``>``."""
        touched: set[str] = set()
        while after < head:
            events = self.events(after, 500)
            if not events:
                break
            for event in events:
                touched.add(str(event.get("subject", "")))
                data = event.get("data")
                if isinstance(data, dict):
                    if isinstance(data.get("$iri"), str):
                        touched.add(data["$iri"])
                    if isinstance(data.get("resources"), list):
                        touched.update(r for r in data["resources"] if isinstance(r, str))
            after = events[-1]["sequence"]
        return {iri for iri in touched if iri and not any(c in iri for c in '<> "{}|^`\\')}

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        """CloudEvents 1.0 (JSON) with sequence numbers greater than ``after``, in order."""
        events = []
        for seq, record in self._records(after, limit):
            event: dict[str, Any] = {
                "specversion": "1.0", "id": record["id"], "source": "urn:semtwin",
                "type": f"dev.semtwin.{record['type']}", "subject": record["subject"],
                "time": canonical_time(record["time"]), "datacontenttype": "application/json",
                "sequence": seq, "data": record["data"]}
            if record.get("actor") is not None:
                event["actor"] = record["actor"]
            if record.get("request") is not None:
                event["requestid"] = record["request"]
            events.append(event)
        return events


def _now() -> str:
    """The current UTC time in ``canonical_time``'s spelling, without parsing it back."""
    text = datetime.now(UTC).isoformat(timespec="microseconds")  # strftime: twice the time
    return text.removesuffix("+00:00").rstrip("0").rstrip(".") + "Z"


def canonical_time(text: str) -> str:
    """A UTC ``xsd:dateTime`` in one spelling (no trailing zeros in the fraction, ``Z``):
    stores give back the times they were sent in their own spelling (Oxigraph drops
    trailing zeros, Virtuoso pads to microseconds)."""
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return stamp.isoformat(timespec="microseconds").removesuffix("+00:00").rstrip(
        "0").rstrip(".") + "Z"


def _lit(text: str) -> str:
    return str(Literal(text))


def _ground(quads: Sequence[Quad]) -> str:
    """Quads as an update's data or template: consecutive quads of one graph in one
    ``GRAPH`` block (a twin's metadata is one block, as a pattern a reader matches)."""
    parts = []
    for graph, run in itertools.groupby(quads, key=lambda q: q.graph_name):
        triples = " ".join(f"{sparql_term(q.subject)} {q.predicate} {sparql_term(q.object)} ."
                           for q in run)
        parts.append(triples if isinstance(graph, DefaultGraph)
                     else f"GRAPH {graph} {{ {triples} }}")
    return " ".join(parts)


def _has_blank(quad: Quad) -> bool:
    return isinstance(quad.subject, BlankNode) or isinstance(quad.object, BlankNode)


def _blank_pattern(quad: Quad) -> tuple[str, list[str]]:
    blanks: list[str] = []

    def term(t: object) -> str:
        if isinstance(t, BlankNode):
            blanks.append(f"?blank{len(blanks)}")
            return blanks[-1]
        return str(t)
    triple = f"{term(quad.subject)} {quad.predicate} {term(quad.object)} ."
    if isinstance(quad.graph_name, DefaultGraph):
        return triple, blanks
    return f"GRAPH {quad.graph_name} {{ {triple} }}", blanks


def _combined(changesets: Sequence[Changeset]) -> Changeset:
    """One changeset with every change of a batch, for validation."""
    first = changesets[0]
    return Changeset(
        event_type="batch", subject=first.subject,
        remove=[q for cs in changesets for q in cs.remove],
        add=[q for cs in changesets for q in cs.add],
        clear_graphs=[g for cs in changesets for g in cs.clear_graphs],
        create_graphs=[g for cs in changesets for g in cs.create_graphs],
        drop_graphs=[g for cs in changesets for g in cs.drop_graphs],
        validate=any(cs.validate for cs in changesets))


def _update_text_all(changesets: Sequence[Changeset], event_ids: Sequence[str], now: str, *,
                     empty_graphs: bool = True, stage_inserts: bool = False,
                     prelude: _Prelude | None = None) -> str:
    """The conditional update (a store other writers may share)."""
    st = f"<{ST}"
    events: list[str] = []
    binds: list[str] = []
    condition = ""
    for i, (cs, event_id) in enumerate(zip(changesets, event_ids, strict=True)):
        ev, seq = f"?ev{i}", f"?new{i}"
        binds.append(f"BIND(?old + {i + 1} AS {seq}) "
                     f"BIND(IRI(CONCAT(\"{EVENT}\", STR({seq}))) AS {ev})")
        event = _event_triples(cs, ev, seq, event_id, now, claimed=True)
        if cs.idempotency_key is not None:
            condition += (f"FILTER NOT EXISTS {{ GRAPH {JOURNAL} {{ ?done{i} {st}idempotencyKey> "
                          f"{_lit(cs.idempotency_key)} }} }} ")
        events.append(" . ".join(event))
        condition += _precondition_filters(cs.precondition, i)
    new_head = f"?new{len(changesets) - 1}"
    operations = [
        f"DELETE {{ GRAPH {JOURNAL} {{ {JOURNAL} {st}seq> ?old }} }} "
        f"INSERT {{ GRAPH {JOURNAL} {{ {JOURNAL} {st}seq> {new_head} . "
        f"{' . '.join(events)} }} }} "
        f"WHERE {{ GRAPH {JOURNAL} {{ {JOURNAL} {st}seq> ?old }} "
        f"{' '.join(binds)} {condition}}}"]
    staged = _Prelude()
    for cs, event_id in zip(changesets, event_ids, strict=True):
        if stage_inserts and len(cs.add) > _STAGE_ABOVE:
            stage, copy, drop = _staged_insert(cs.add, event_id, staged.graphs)
            staged.requests.extend(stage)
            operations += _change_operations(cs, event_id, empty_graphs, now,
                                             insert=False)
            operations += [*copy, *drop]
        else:
            operations += _change_operations(cs, event_id, empty_graphs, now)
    if prelude is not None:
        prelude.requests.extend(staged.requests)
        prelude.graphs.extend(staged.graphs)
        return " ;\n".join(operations)
    return " ;\n".join([*staged.requests, *operations])


def _seq_statement(subject: NamedNode, seq: int
                   ) -> tuple[NamedNode, NamedNode, Literal, NamedNode]:
    """``subject st:seq seq`` in the journal: the stored head (``JOURNAL``) or an event."""
    return subject, SEQ, Literal(str(seq), datatype=INTEGER), JOURNAL


MARK_EVERY = 1024
"""How far an in-process store's stored journal head may lag its last event."""
_PROBE = 256


def _move_head(old: int, new: int) -> str:
    return (f"DELETE DATA {{ GRAPH {JOURNAL} {{ {JOURNAL} <{ST}seq> {old} }} }} ;\n"
            f"INSERT DATA {{ GRAPH {JOURNAL} {{ {JOURNAL} <{ST}seq> {new} }} }}")


def _event_record(cs: Changeset, event_id: str, now: str) -> str:
    """A journal event as one JSON document: the CloudEvent's fields (``events``) and what
    the change did (``changes_document``, for ``semtwin replay``). One literal: with a
    statement a field a create's update took 0.35-0.43 ms, now 0.22-0.29 ms (ADR 0006)."""
    record: dict[str, Any] = {"id": event_id, "type": cs.event_type,
                              "subject": cs.subject.value, "time": now, "data": cs.data,
                              "changes": changes_document(cs, now)}
    if cs.actor:
        record["actor"] = cs.actor
    if cs.request_id:
        record["request"] = cs.request_id
    return json_bytes(record).decode()


def _event_triples(cs: Changeset, event: str, seq: str, event_id: str, now: str, *,
                   claimed: bool) -> list[str]:
    """A journal event's statements: its sequence number and record; its id as well when
    the update's other operations are conditioned on it (``claimed``); the idempotency key,
    which writes look up."""
    st = f"<{ST}"
    triples = [f"{event} {st}seq> {seq}",
               f"{event} {st}record> {_lit(_event_record(cs, event_id, now))}"]
    if claimed:
        triples.append(f"{event} {st}id> {_lit(event_id)}")
    if cs.idempotency_key is not None:
        triples.append(f"{event} {st}idempotencyKey> {_lit(cs.idempotency_key)}")
    return triples


def _data_update_text(changesets: Sequence[Changeset], event_ids: Sequence[str], now: str,
                      head: int, move: tuple[int, int] | None = None, *,
                      empty_graphs: bool = True, reads: CommitReads | None = None) -> str:
    """The update for a store only this pipeline writes, its preconditions checked: the
    events (and the stored head moved, ``move``: from, to), then every change, as data.
    ``reads`` (the store as it is before the update) turns the removal of metadata and
    graph content into data: what is there and is not written again (``_change_operations``).
    """
    changesets = [_as_data(cs, reads) for cs in changesets]
    events = [" . ".join(_event_triples(cs, f"<{EVENT}{head + i + 1}>", str(head + i + 1),
                                        event_id, now, claimed=False))
              for i, (cs, event_id) in enumerate(zip(changesets, event_ids, strict=True))]
    operations = [_move_head(*move)] if move else []
    operations.append(f"INSERT DATA {{ GRAPH {JOURNAL} {{ {' . '.join(events)} }} }}")
    for cs in changesets:
        operations += _change_operations(cs, "", empty_graphs, now,
                                         claimed=False, reads=reads)
    return " ;\n".join(operations)


def _data_quads(changesets: Sequence[Changeset], event_ids: Sequence[str], now: str,
                head: int, reads: CommitReads | None) -> list[Quad] | None:
    """What ``_data_update_text`` writes, as quads, when the changes only insert (nothing to
    remove or forget, no graph to create or drop, no blank node: ``INSERT DATA`` gives
    those fresh labels); else None. A create is written so, without an update to parse."""
    if reads is None:
        return None
    for cs in changesets:
        if (cs.remove or cs.forget or cs.create_graphs or cs.drop_graphs
                or (cs.metadata and (cs.new_etag is None or reads.occupied(cs.subject, META)))
                or any(reads.occupied(None, graph) for graph in cs.clear_graphs)
                or any(_has_blank(q) for q in cs.add)):
            return None
    quads: list[Quad] = []
    for i, (cs, event_id) in enumerate(zip(changesets, event_ids, strict=True)):
        seq = head + i + 1
        event = NamedNode(f"{EVENT}{seq}")
        quads += [Quad(*_seq_statement(event, seq)),
                  Quad(event, RECORD, Literal(_event_record(cs, event_id, now)), JOURNAL)]
        if cs.idempotency_key is not None:
            quads.append(Quad(event, IDEMPOTENCY_KEY, Literal(cs.idempotency_key), JOURNAL))
        if cs.metadata and cs.new_etag is not None:
            quads += _meta_quads(cs, now)
        quads.extend(cs.add)
    return quads


_STAGE_ABOVE = 200
_STAGE_CHUNK = 1000
_TEMPLATE_CHUNK = 200


def _chunks(quads: Sequence[Quad]) -> list[list[Quad]]:
    """Groups of at most about ``_STAGE_CHUNK`` quads; quads that share a blank node stay
    together (a blank node label names one node only within one operation)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ground: list[Quad] = []
    blank: list[tuple[str, Quad]] = []
    for q in quads:
        labels = [t.value for t in (q.subject, q.object) if isinstance(t, BlankNode)]
        if not labels:
            ground.append(q)
            continue
        for other in labels[1:]:
            parent[find(other)] = find(labels[0])
        blank.append((labels[0], q))
    components: dict[str, list[Quad]] = {}
    for label, q in blank:
        components.setdefault(find(label), []).append(q)
    out: list[list[Quad]] = []
    current: list[Quad] = []
    for group in [*components.values(), *([q] for q in ground)]:
        limit = _STAGE_CHUNK if not current or not _has_blank(current[0]) else _TEMPLATE_CHUNK
        if current and len(current) + len(group) > limit:
            out.append(current)
            current = []
        current.extend(group)
    if current:
        out.append(current)
    return out


@dataclass
class _Prelude:
    """Requests that fill staging graphs before the atomic update, and those graphs (dropped
    if anything fails)."""

    requests: list[str] = field(default_factory=list)
    graphs: list[str] = field(default_factory=list)


def _staged_insert(quads: Sequence[Quad], event_id: str, graphs: list[str]
                   ) -> tuple[list[str], list[str], list[str]]:
    """Large inserts for stores that cannot take a large INSERT template: the quads go into
    staging graphs with INSERT DATA, are copied to their graphs only if the event was
    claimed (the preconditions held), and the staging graphs are dropped either way; all in
    the same update request."""
    by_graph: dict[str, list[Quad]] = {}
    for q in quads:
        key = "" if isinstance(q.graph_name, DefaultGraph) else str(q.graph_name)
        by_graph.setdefault(key, []).append(q)
    st = f"<{ST}"
    claimed = f"GRAPH {JOURNAL} {{ ?claim {st}id> {_lit(event_id)} }}"
    data, copy, drop = [], [], []
    for index, (graph, members) in enumerate(sorted(by_graph.items())):
        staging = f"<urn:semtwin:staging:{event_id}:{index}>"
        graphs.append(staging)
        for chunk in _chunks(members):
            body = " ".join(f"{sparql_term(q.subject)} {q.predicate} {sparql_term(q.object)} ."
                            for q in chunk)
            if any(_has_blank(q) for q in chunk):
                # Virtuoso takes blank nodes in templates only, not in INSERT DATA
                data.append(f"INSERT {{ GRAPH {staging} {{ {body} }} }} WHERE {{ }}")
            else:
                data.append(f"INSERT DATA {{ GRAPH {staging} {{ {body} }} }}")
        target = f"GRAPH {graph} {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
        copy.append(f"INSERT {{ {target} }} WHERE {{ {claimed} GRAPH {staging} {{ ?s ?p ?o }} }}")
        drop.append(f"DROP SILENT GRAPH {staging}")
    return data, copy, drop


_COMPRESS_CHANGES_ABOVE = 1 << 20


def changes_document(cs: Changeset, now: str = "") -> dict[str, Any]:
    """What the changeset did, enough to do it again (``semtwin replay``): N-Quads of the
    quads removed and added, the graphs cleared, created and dropped, the subject's new ETag
    and the resources whose metadata went."""
    def graph(g: GraphName) -> str:
        return "" if isinstance(g, DefaultGraph) else g.value
    removed = (serialize(cs.remove, format=RdfFormat.N_QUADS) or b"").decode()
    added = (serialize(cs.add, format=RdfFormat.N_QUADS) or b"").decode()
    document = {
        "remove": removed, "add": added,
        "clear": [graph(g) for g in cs.clear_graphs],
        "create": [g.value for g in cs.create_graphs],
        "drop": [g.value for g in cs.drop_graphs],
        "etag": cs.new_etag, "forget": [f.value for f in cs.forget],
        "times": None if cs.property_times is None else {
            k: v or now for k, v in cs.property_times.items()},
    }
    if len(added) + len(removed) > _COMPRESS_CHANGES_ABOVE:
        # Large imports: the journal keeps their changes deflated (a tenth of the bytes).
        text = json.dumps(document, separators=(",", ":"))
        return {"deflated": base64.b64encode(zlib.compress(text.encode(), 1)).decode()}
    return document


def changeset_from(event_type: str, subject: str, data: dict[str, Any],
                   changes: str | dict[str, Any]) -> Changeset:
    """The changeset an event's ``changes`` describe (a document, or its JSON text in a
    journal written before records), unconditional and unvalidated."""
    from semtwin.rdf import parse

    done = json.loads(changes) if isinstance(changes, str) else changes
    if "deflated" in done:
        done = json.loads(zlib.decompress(base64.b64decode(done["deflated"])))

    def quads(text: str) -> list[Quad]:
        return list(parse(text.encode(), format=RdfFormat.N_QUADS)) if text else []
    return Changeset(
        event_type=event_type, subject=NamedNode(subject), data=data,
        remove=quads(done["remove"]), add=quads(done["add"]),
        clear_graphs=[NamedNode(g) if g else DefaultGraph() for g in done["clear"]],
        create_graphs=[NamedNode(g) for g in done["create"]],
        drop_graphs=[NamedNode(g) for g in done["drop"]],
        new_etag=done["etag"], forget=[NamedNode(f) for f in done["forget"]],
        property_times=done.get("times"), validate=False)


def _precondition_filters(pre: Precondition | None, i: int) -> str:
    if pre is None:
        return ""
    st = f"<{ST}"
    condition = ""
    etag_of = f"GRAPH {META} {{ {pre.subject} {st}etag>"
    if pre.if_match is not None:
        condition += f"FILTER EXISTS {{ {etag_of} {_lit(pre.if_match)} }} }} "
    if pre.must_not_exist:
        condition += f"FILTER NOT EXISTS {{ {etag_of} ?etag{i} }} }} "
    if pre.must_exist:
        condition += f"FILTER EXISTS {{ {etag_of} ?etag{i} }} }} "
    if pre.owner is not None:
        condition += f"FILTER EXISTS {{ GRAPH {META} {{ {pre.owner} {st}etag> ?owner{i} }} }} "
    for j, other in enumerate(pre.others_exist):
        condition += f"FILTER EXISTS {{ GRAPH {META} {{ {other} {st}etag> ?other{i}_{j} }} }} "
    if pre.no_relationships:
        condition += (f"FILTER NOT EXISTS {{ GRAPH ?rel_graph{i} {{ ?rel{i} {st}source>|"
                      f"{st}target> {pre.subject} }} }} ")
    return condition


def _change_operations(cs: Changeset, event_id: str, empty_graphs: bool, now: str = "", *,
                       insert: bool = True, claimed: bool = True,
                       reads: CommitReads | None = None) -> list[str]:
    """The operations that write one changeset, each conditioned on its event's claim; or,
    ``claimed=False`` (its preconditions already checked), unconditional and as data. With
    ``reads`` (the store before the update, under the write lock) a replaced twin's old
    metadata and graph content are removed as data, and only the statements that change are
    removed and inserted: a patch of one property rewrote the twin's every statement."""
    def there(subject: NamedNode | None, graph: GraphName) -> bool:
        return reads is None or reads.occupied(subject, graph)

    st = f"<{ST}"
    subject = cs.subject
    claim = f"GRAPH {JOURNAL} {{ ?claim {st}id> {_lit(event_id)} }}" if claimed else ""
    data = not claimed
    # The metadata is replaced in one operation, so that no reader between two operations
    # of the request (a store without read isolation, such as Virtuoso) sees a twin without.
    old_meta = f"GRAPH {META} {{ {subject} ?mp ?mo }}"
    operations: list[str] = []
    if not cs.metadata:
        pass
    elif data and reads is not None:
        old = reads.metadata(subject)
        if old:
            operations.append(f"DELETE DATA {{ {_ground(old)} }}")
        if cs.new_etag is not None:
            operations.append(f"INSERT DATA {{ {_ground(_meta_quads(cs, now))} }}")
    elif cs.new_etag is None:
        operations.append(f"DELETE {{ {old_meta} }} WHERE {{ {claim} {old_meta} }}")
    elif data:
        operations += [f"DELETE WHERE {{ {old_meta} }}",
                       f"INSERT DATA {{ {_ground(_meta_quads(cs, now))} }}"]
    else:
        operations.append(
            f"DELETE {{ {old_meta} }} INSERT {{ {_ground(_meta_quads(cs, now))} }} "
            # a row with dummy bindings, not OPTIONAL: Virtuoso drops a row whose DELETE
            # template has unbound variables, INSERT included
            f"WHERE {{ {claim} {{ {old_meta} }} UNION "
            f"{{ BIND({st}none> AS ?mp) BIND({st}none> AS ?mo) }} }}")
    if cs.forget:
        values = " ".join(str(f) for f in cs.forget)
        operations.append(f"DELETE {{ GRAPH {META} {{ ?f ?fp ?fo }} }} WHERE {{ {claim} "
                          f"VALUES ?f {{ {values} }} GRAPH {META} {{ ?f ?fp ?fo }} }}")
    for graph in cs.clear_graphs:
        if data and not there(None, graph):
            continue
        if isinstance(graph, DefaultGraph):
            operations.append(f"DELETE {{ ?s ?p ?o }} WHERE {{ {claim} ?s ?p ?o }}")
        else:
            operations.append(f"DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} "
                              f"WHERE {{ {claim} GRAPH {graph} {{ ?s ?p ?o }} }}")
    if empty_graphs:
        operations += [f"CREATE SILENT GRAPH {graph}" for graph in cs.create_graphs]
    operations += [f"DROP SILENT GRAPH {graph}" for graph in cs.drop_graphs]
    ground = [q for q in cs.remove if not _has_blank(q)]
    if ground:
        operations.append(f"DELETE DATA {{ {_ground(ground)} }}" if data
                          else f"DELETE {{ {_ground(ground)} }} WHERE {{ {claim} }}")
    for quad in cs.remove:
        if _has_blank(quad):
            # SPARQL cannot name a stored blank node: match it as a blank-node variable.
            pattern, blanks = _blank_pattern(quad)
            filters = " ".join(f"FILTER(isBlank({b}))" for b in blanks)
            operations.append(f"DELETE {{ {pattern} }} WHERE {{ {claim} {pattern} {filters} }}")
    if cs.add and insert:
        operations.append(f"INSERT DATA {{ {_ground(cs.add)} }}" if data
                          else f"INSERT {{ {_ground(cs.add)} }} WHERE {{ {claim} }}")
    return operations


def _as_data(cs: Changeset, reads: CommitReads | None) -> Changeset:
    """The changeset with each graph it clears that the commit has read (a twin's, for
    validation) written as data: the statements the change does not write again removed,
    only the new ones added, and graphs already empty not cleared. A patch of one property
    rewrote every statement of the twin, and its journal record carried them all."""
    if reads is None or not cs.clear_graphs:
        return cs
    clear: list[GraphName] = []
    gone: list[Quad] = []
    kept: set[Quad] = set()
    written: set[Quad] | None = None
    for graph in cs.clear_graphs:
        if not reads.occupied(None, graph):
            continue
        content = reads.read_graph(graph)
        if (content is None or len(content) > LARGE_CHANGE or graph in cs.drop_graphs
                or any(_has_blank(q) for q in content)):
            clear.append(graph)
            continue
        written = set(cs.add) if written is None else written
        gone += [q for q in content if q not in written]
        kept.update(q for q in content if q in written)
    if len(clear) == len(cs.clear_graphs):
        return cs
    return dataclasses.replace(cs, clear_graphs=clear, remove=[*gone, *cs.remove],
                               add=[q for q in cs.add if q not in kept])


def _meta_quads(cs: Changeset, now: str) -> list[Quad]:
    """The subject's metadata after the change: ETag, update time, property times (a
    property's kept time, or this commit's)."""
    quads = [Quad(cs.subject, ETAG, Literal(cs.new_etag or ""), META),
             Quad(cs.subject, UPDATED, Literal(now, datatype=DATETIME), META)]
    if cs.property_times is not None:
        times = {k: v or now for k, v in cs.property_times.items()}
        quads.append(Quad(cs.subject, PROPERTY_TIMES, Literal(json_bytes(times).decode()), META))
    return quads
