"""Governance at write time: every changeset is validated, before it commits, against the
shapes of the active models, for the focus nodes the change can affect, on the store as the
change would leave it (``semtwin.shacl``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextvars import ContextVar

from semtwin.errors import ShapeViolation
from semtwin.rdf import GraphName, Literal, NamedNode, Quad, Term, Triple
from semtwin.services.inline import LARGE_FOCUS, NoWait
from semtwin.services.pipeline import ETAG, JOURNAL, META, ST, Changeset
from semtwin.services.vocabulary import ModelTerms, derive_terms
from semtwin.shacl import MemoryGraph, OverlayView, ShapesGraph, StoreView, Validator
from semtwin.shacl.graph import quad_triple
from semtwin.shacl.incremental import ChangeScope
from semtwin.shacl.report import report_json, report_turtle
from semtwin.shacl.validator import ValidationReport
from semtwin.shacl.vocab import OWL_DEPRECATED, RDF_TYPE, RDFS_SUBCLASS
from semtwin.store import SelectResult, TwinStore

ACTIVE = "active"
TERMS_MAX_AGE_S = 1.0
WRITE_WARNINGS: ContextVar[list[str] | None] = ContextVar("semtwin_write_warnings",
                                                          default=None)
"""Warnings of the writes of the current request (deprecated terms used); the HTTP layer
sets a list per request and answers it as ``Semtwin-Warning`` headers."""


_STATUS = NamedNode(f"{ST}status")


class ActiveShapes:
    """The compiled shapes of the active models, reloaded when the set of active model
    versions changes (through this process or another one on the same store)."""

    def __init__(self, store: TwinStore, no_wait: NoWait | None = None) -> None:
        self._store = store
        self._no_wait = no_wait or NoWait()
        self._lock = threading.Lock()
        self._fingerprint: tuple[tuple[str, str], ...] | None = None
        self._shapes: ShapesGraph | None = None
        self._scope: ChangeScope | None = None
        self._deprecated: frozenset[Term] = frozenset()
        self._terms = ModelTerms()
        self._checked = float("-inf")
        self._known: tuple[tuple[str, str], ...] | None = None
        self._generation = 0
        self._known_lock = threading.Lock()  # held only to compare and set the two above

    def active_graphs(self) -> tuple[tuple[str, str], ...]:
        """The active model versions' graphs and ETags, read on every write. On an
        in-process store only this process's pipeline writes, and it reports every commit
        (``note``): the set is kept until a commit changes a model (the look-ups cost 7 % of
        a create's time at 100k twins, ADR 0012). Over a remote store, which other processes
        write, one query each time."""
        if self._store.capabilities.in_process:
            known, generation = self._known, self._generation
            if known is not None:
                return known
            found = self._read_active_graphs()
            with self._known_lock:
                if generation == self._generation:  # no model changed while it was read
                    self._known = found
            return found
        result = self._store.query(
            f"SELECT ?g ?etag WHERE {{ GRAPH {META} {{ ?g <{ST}status> {Literal(ACTIVE)} ; "
            f"<{ST}etag> ?etag }} }} ORDER BY ?g", union_default_graph=False)
        assert isinstance(result, SelectResult)
        return tuple((row[0].value, row[1].value) for row in result.rows  # type: ignore[union-attr]
                     if row[0] is not None and row[1] is not None)

    def note(self, changesets: Sequence[Changeset]) -> None:
        """Told of every commit: one that changes a model (an upload, a status, a deletion:
        a ``model.*`` event, whichever door or tool committed it) makes the next write read
        the active models again. Only the models service writes model metadata: SPARQL
        Update and the Graph Store refuse semtwin's reserved graphs."""
        if any(cs.event_type.startswith("model.") for cs in changesets):
            with self._known_lock:
                self._generation += 1
                self._known = None
            self._checked = float("-inf")

    def _read_active_graphs(self) -> tuple[tuple[str, str], ...]:
        """Two pattern look-ups (no query to parse)."""
        graphs = sorted(q.subject.value for q in self._store.quads(
            None, _STATUS, Literal(ACTIVE), META) if isinstance(q.subject, NamedNode))
        return tuple((g, q.object.value) for g in graphs
                     for q in self._store.quads(NamedNode(g), ETAG, None, META)
                     if isinstance(q.object, Literal))

    def current(self) -> tuple[ShapesGraph, ChangeScope] | None:
        return self.snapshot()[0]

    def snapshot(self) -> tuple[tuple[ShapesGraph, ChangeScope] | None, frozenset[Term]]:
        """The compiled active shapes (None when no shape has targets) and the classes and
        properties the active models mark ``owl:deprecated true``, after one read of which
        model versions are active."""
        fingerprint = self.active_graphs()
        with self._no_wait.holding(self._lock):
            self._refresh(fingerprint)
            active = (None if self._shapes is None or self._scope is None
                      else (self._shapes, self._scope))
            return active, self._deprecated

    def terms(self, fresh: bool = True) -> ModelTerms:
        """What the active models say about their properties' values and prefixes. Not
        ``fresh``: as of the last check if it is under a second old (twin reads and writes
        ask on every request; a model change through this process is seen at once, one
        through another process within the second, and validation always reads them)."""
        if not fresh and time.monotonic() - self._checked < TERMS_MAX_AGE_S:
            return self._terms
        fingerprint = self.active_graphs()
        with self._no_wait.holding(self._lock):
            self._refresh(fingerprint)
            return self._terms

    def _refresh(self, fingerprint: tuple[tuple[str, str], ...]) -> None:
        if fingerprint == self._fingerprint:
            self._checked = time.monotonic()
            return
        self._no_wait.refuse()  # compiling the shapes takes a while: not on the event loop
        self._checked = time.monotonic()
        view = MemoryGraph()
        for graph, _ in fingerprint:
            for q in self._store.quads(None, None, None, NamedNode(graph)):
                view.add(q.subject, q.predicate, q.object)
        self._deprecated = frozenset(s for s, o in view.pairs(OWL_DEPRECATED)
                                     if isinstance(o, Literal) and o.value in {"true", "1"})
        self._terms = derive_terms(view)
        shapes = ShapesGraph(view)
        self._shapes, self._scope = ((shapes, ChangeScope(shapes)) if shapes.targeted
                                     else (None, None))
        self._fingerprint = fingerprint


def _deprecated_uses(added: list[Triple], deprecated: frozenset[Term]) -> list[str]:
    used: dict[str, None] = {}
    for t in added:
        if t.predicate in deprecated:
            used[f"deprecated property {t.predicate.value}"] = None
        if t.predicate == RDF_TYPE and t.object in deprecated:
            used[f"deprecated class {t.object.value}"] = None  # type: ignore[union-attr]
    return list(used)


def data_view(store: TwinStore) -> StoreView:
    """The data graph validation sees: every graph but the journal and the metadata."""
    return StoreView(store, hidden=(JOURNAL, META))


class WriteValidator:
    """The pipeline's check: raises ``ShapeViolation`` (nothing written) when a changeset
    would leave a violation of an active shape."""

    def __init__(self, store: TwinStore, shapes: ActiveShapes,
                 no_wait: NoWait | None = None) -> None:
        self._store = store
        self._shapes = shapes
        self._no_wait = no_wait or NoWait()
        # The class hierarchy, kept between writes until a change touches rdfs:subClassOf
        # or the active models change.
        self._superclasses: dict[Term, frozenset[Term]] = {}
        self._hierarchy_of: ShapesGraph | None = None

    def __call__(self, changeset: Changeset) -> None:
        if not changeset.validate:
            return
        active, deprecated = self._shapes.snapshot()
        view = data_view(self._store)
        bucket = WRITE_WARNINGS.get()
        if bucket is not None and deprecated:  # a use restated by a replace is still a use
            bucket.extend(_deprecated_uses(_data_triples(changeset.add), deprecated))
        added, removed = delta(view, changeset)
        if not added and not removed:
            return
        if active is None:
            return
        shapes, scope = active
        post = OverlayView(view, added, removed)
        changed = [*added, *removed]
        hierarchy_changed = any(t.predicate == RDFS_SUBCLASS for t in changed)
        if hierarchy_changed:
            self._no_wait.refuse()  # the class hierarchy is read again from the store
        if hierarchy_changed or shapes is not self._hierarchy_of:
            self._superclasses = {}  # recomputed from the store by the next write
            self._hierarchy_of = shapes
        validator = Validator(shapes, post, {} if hierarchy_changed else self._superclasses,
                              self._store.stored_form)
        with_added = post if not removed else OverlayView(view, added, ())
        affected = scope.focus(validator, with_added, changed)
        if affected is None or sum(map(len, affected.values())) > LARGE_FOCUS:
            self._no_wait.refuse()  # the whole store, or much of it, is validated
        report = validator.validate_all() if affected is None else validator.validate_nodes(
            affected)
        if "sparql" in report.unsupported and bucket is not None:
            bucket.append("a SPARQL-based constraint was not evaluated for this change (its "
                          "query has no footprint, or one past the limit a write walks); "
                          "docs/governance.md says which")
        violations = report.violations
        if violations:
            blocking = ValidationReport(results=violations, focus_nodes=report.focus_nodes)
            first = violations[0]
            raise ShapeViolation(
                f"the change violates {len(violations)} shape constraint(s); first: "
                f"{first.message}",
                report=report_json(blocking),
                turtle=report_turtle(blocking))


def _data_triples(quads: Sequence[Quad]) -> list[Triple]:
    """The statements of quads outside the system graphs, as validation sees them."""
    return [quad_triple(q) for q in quads if q.graph_name not in (JOURNAL, META)]


def delta(view: StoreView, changeset: Changeset) -> tuple[list[Triple], list[Triple]]:
    """The triples a changeset adds to and removes from the union of the data graphs."""
    added = _data_triples(changeset.add)
    added_set = set(added)
    touched: set[GraphName] = {q.graph_name for q in changeset.remove}
    removed = _data_triples(changeset.remove)
    reads = changeset.reads
    stored: dict[Triple, None] = {}  # the cleared graphs' statements, read from the store
    for graph in [*changeset.clear_graphs, *changeset.drop_graphs]:
        touched.add(graph)
        content = reads.graph(graph) if reads is not None else view.graph_quads(graph)
        stored.update(dict.fromkeys(quad_triple(q) for q in content))
    removed.extend(stored)
    frozen = frozenset(touched)
    gone = [t for t in dict.fromkeys(removed)
            if t not in added_set and not view.holds_elsewhere(t, frozen)]
    if stored:
        # a cleared graph's statements written again (a replace, a patch) are in the union
        # before and after: the change is only what differs
        added = [t for t in added if t not in stored]
    return added, gone
