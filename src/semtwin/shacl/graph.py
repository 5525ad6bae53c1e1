"""Read-only views of a data graph, as the validator reads it: by subject and predicate, by
predicate and object. Three kinds: an in-memory index (files, shapes graphs, tests), a view
over any ``TwinStore`` (the union of its data graphs), and an overlay that shows a store as it
would be after a changeset, without writing it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Protocol

from semtwin.rdf import BlankNode, GraphName, NamedNode, Quad, Term, Triple
from semtwin.shacl.vocab import RDF_FIRST, RDF_NIL, RDF_REST, RDF_TYPE, RDFS_SUBCLASS
from semtwin.store import TwinStore

Node = NamedNode | BlankNode | Triple


class GraphView(Protocol):
    def objects(self, subject: Term, predicate: NamedNode) -> list[Term]: ...

    def subjects(self, predicate: NamedNode, obj: Term) -> list[Term]: ...

    def outgoing(self, subject: Term) -> list[tuple[NamedNode, Term]]:
        """Every (predicate, object) of a subject."""
        ...

    def pairs(self, predicate: NamedNode) -> Iterator[tuple[Term, Term]]:
        """Every (subject, object) linked by a predicate."""
        ...

    def has_incoming(self, node: Term) -> bool:
        """Whether any triple has ``node`` as its object."""
        ...

    def incoming(self, node: Term) -> list[tuple[Term, NamedNode]]:
        """Every (subject, predicate) pointing to a node."""
        ...

    def lookup_objects(self, subject: Term, predicate: NamedNode) -> list[Term]:
        """``objects`` for one predicate of a node the caller reads nothing else of (a
        class in an ontology: SHACL-SPARQL footprints): no read of all its triples."""
        ...


class MemoryGraph:
    """A triple index in Python dictionaries: the fastest view for data that fits in memory."""

    def __init__(self, triples: Iterable[Triple | Quad] = ()) -> None:
        self._spo: defaultdict[Term, defaultdict[NamedNode, dict[Term, None]]] = defaultdict(
            lambda: defaultdict(dict))
        self._pos: defaultdict[NamedNode, defaultdict[Term, dict[Term, None]]] = defaultdict(
            lambda: defaultdict(dict))
        self._targets: set[Term] = set()
        self.size = 0
        for t in triples:
            self.add(t.subject, t.predicate, t.object)

    def add(self, s: Term, p: NamedNode, o: Term) -> None:
        objects = self._spo[s][p]
        if o not in objects:
            objects[o] = None
            self._pos[p][o][s] = None
            self._targets.add(o)
            self.size += 1

    def has_incoming(self, node: Term) -> bool:
        return node in self._targets

    def objects(self, subject: Term, predicate: NamedNode) -> list[Term]:
        by_p = self._spo.get(subject)
        if by_p is None:
            return []
        return list(by_p.get(predicate, ()))

    lookup_objects = objects

    def subjects(self, predicate: NamedNode, obj: Term) -> list[Term]:
        by_o = self._pos.get(predicate)
        if by_o is None:
            return []
        return list(by_o.get(obj, ()))

    def outgoing(self, subject: Term) -> list[tuple[NamedNode, Term]]:
        by_p = self._spo.get(subject)
        if by_p is None:
            return []
        return [(p, o) for p, objects in by_p.items() for o in objects]

    def incoming(self, node: Term) -> list[tuple[Term, NamedNode]]:
        """Every (subject, predicate) pointing to a node."""
        if node not in self._targets:
            return []
        return [(s, p) for p, by_o in self._pos.items() for s in by_o.get(node, ())]

    def pairs(self, predicate: NamedNode) -> Iterator[tuple[Term, Term]]:
        for o, subjects in list(self._pos.get(predicate, {}).items()):
            for s in subjects:
                yield s, o

    def triples(self) -> Iterator[Triple]:
        for s, by_p in self._spo.items():
            for p, objects in by_p.items():
                for o in objects:
                    yield Triple(s, p, o)  # type: ignore[arg-type]


class StoreView:
    """The union of a store's graphs minus the ones named in ``hidden`` (system graphs).

    Lookups are cached for the life of the view (one validation), bounded in size: a full
    validation asks for the same types and values many times."""

    CACHE_LIMIT = 500_000

    def __init__(self, store: TwinStore, hidden: Iterable[NamedNode] = ()) -> None:
        self._store = store
        self._hidden: frozenset[GraphName] = frozenset(hidden)
        self._out: dict[Term, dict[NamedNode, list[Term]]] = {}
        self._subjects: dict[tuple[NamedNode, Term], list[Term]] = {}
        self._lookups: dict[tuple[Term, NamedNode], list[Term]] = {}
        self._in: dict[Term, list[tuple[Term, NamedNode]]] = {}
        """Every (subject, predicate) pointing to a node, for nodes read whole: ``subjects``
        of any predicate of them is answered from it (a new twin is asked for its incoming
        edges, then for the subjects of each inverse path a shape walks from it)."""

    def _visible(self, quads: Iterator[Quad]) -> Iterator[Quad]:
        hidden = self._hidden
        return (q for q in quads if q.graph_name not in hidden)

    def _outgoing(self, subject: Term) -> dict[NamedNode, list[Term]]:
        """All of a subject's (predicate, objects), read in one lookup: a node is usually
        asked for several predicates (its shapes' paths), most of which it lacks."""
        found = self._out.get(subject)
        if found is None:
            found = {}
            if isinstance(subject, NamedNode | BlankNode | Triple):
                hidden = self._hidden
                for q in self._store.quads(subject, None, None, None):
                    if q.graph_name not in hidden:
                        objects = found.setdefault(q.predicate, [])
                        if q.object not in objects:
                            objects.append(q.object)
            if len(self._out) >= self.CACHE_LIMIT:
                self._out.clear()
            self._out[subject] = found
        return found

    def objects(self, subject: Term, predicate: NamedNode) -> list[Term]:
        return self._outgoing(subject).get(predicate, [])

    def lookup_objects(self, subject: Term, predicate: NamedNode) -> list[Term]:
        found = self._out.get(subject)
        if found is not None:
            return found.get(predicate, [])
        key = (subject, predicate)
        objects = self._lookups.get(key)
        if objects is None:
            objects = [] if not isinstance(subject, NamedNode | BlankNode | Triple) else list(
                dict.fromkeys(q.object for q in self._visible(
                    self._store.quads(subject, predicate, None, None))))
            if len(self._lookups) >= self.CACHE_LIMIT:
                self._lookups.clear()
            self._lookups[key] = objects
        return objects

    INCOMING_KEPT = 64
    """``has_incoming`` reads up to this many edges into a node and keeps them when that is
    all of them; past it (a hub, a class) it answers at once."""

    def has_incoming(self, node: Term) -> bool:
        known = self._in.get(node)
        if known is not None:
            return bool(known)
        found: list[tuple[Term, NamedNode]] = []
        for q in self._visible(self._store.quads(None, None, node, None)):
            if len(found) == self.INCOMING_KEPT:
                return True
            found.append((q.subject, q.predicate))
        self._keep_incoming(node, found)
        return bool(found)

    def incoming(self, node: Term) -> list[tuple[Term, NamedNode]]:
        known = self._in.get(node)
        if known is None:
            known = [(q.subject, q.predicate) for q in self._visible(
                self._store.quads(None, None, node, None))]
            if len(known) <= self.INCOMING_KEPT:
                self._keep_incoming(node, known)
        return list(dict.fromkeys(known))

    def _keep_incoming(self, node: Term, edges: list[tuple[Term, NamedNode]]) -> None:
        if len(self._in) >= self.CACHE_LIMIT:
            self._in.clear()
        self._in[node] = edges

    def subjects(self, predicate: NamedNode, obj: Term) -> list[Term]:
        key = (predicate, obj)
        found = self._subjects.get(key)
        if found is None:
            edges = self._in.get(obj)
            found = list(dict.fromkeys(
                (s for s, p in edges if p == predicate) if edges is not None
                else (q.subject for q in self._visible(
                    self._store.quads(None, predicate, obj, None)))))
            if len(self._subjects) >= self.CACHE_LIMIT:
                self._subjects.clear()
            self._subjects[key] = found
        return found

    def outgoing(self, subject: Term) -> list[tuple[NamedNode, Term]]:
        return [(p, o) for p, objects in self._outgoing(subject).items() for o in objects]

    def pairs(self, predicate: NamedNode) -> Iterator[tuple[Term, Term]]:
        seen: set[tuple[Term, Term]] = set()
        for q in self._visible(self._store.quads(None, predicate, None, None)):
            pair = (q.subject, q.object)
            if pair not in seen:
                seen.add(pair)
                yield pair

    def graph_quads(self, graph: GraphName) -> list[Quad]:
        return list(self._store.quads(None, None, None, graph))

    def holds_elsewhere(self, triple: Triple, graphs: frozenset[GraphName]) -> bool:
        """Whether a visible graph outside ``graphs`` holds this triple."""
        return any(q.graph_name not in graphs for q in self._visible(
            self._store.quads(triple.subject, triple.predicate, triple.object, None)))


class OverlayView:
    """A base view with triples added and removed: the store as a changeset would leave it."""

    def __init__(self, base: GraphView, added: Iterable[Triple],
                 removed: Iterable[Triple]) -> None:
        self._base = base
        self.added = MemoryGraph(added)
        self.removed = MemoryGraph(removed)
        self._removed_set = {(t.subject, t.predicate, t.object)
                             for t in self.removed.triples()}

    def objects(self, subject: Term, predicate: NamedNode) -> list[Term]:
        return self._objects(self._base.objects(subject, predicate), subject, predicate)

    def lookup_objects(self, subject: Term, predicate: NamedNode) -> list[Term]:
        return self._objects(self._base.lookup_objects(subject, predicate), subject, predicate)

    def _objects(self, base: list[Term], subject: Term, predicate: NamedNode) -> list[Term]:
        """The base's objects of (subject, predicate) with the change applied."""
        if self._removed_set:
            base = [o for o in base if (subject, predicate, o) not in self._removed_set]
        return list(dict.fromkeys([*base, *self.added.objects(subject, predicate)]))

    def subjects(self, predicate: NamedNode, obj: Term) -> list[Term]:
        base = self._base.subjects(predicate, obj)
        if self._removed_set:
            base = [s for s in base if (s, predicate, obj) not in self._removed_set]
        return list(dict.fromkeys([*base, *self.added.subjects(predicate, obj)]))

    def outgoing(self, subject: Term) -> list[tuple[NamedNode, Term]]:
        base = self._base.outgoing(subject)
        if self._removed_set:
            base = [(p, o) for p, o in base if (subject, p, o) not in self._removed_set]
        return list(dict.fromkeys([*base, *self.added.outgoing(subject)]))

    def incoming(self, node: Term) -> list[tuple[Term, NamedNode]]:
        base = self._base.incoming(node)
        if self._removed_set:
            base = [(s, p) for s, p in base if (s, p, node) not in self._removed_set]
        return list(dict.fromkeys([*base, *self.added.incoming(node)]))

    def has_incoming(self, node: Term) -> bool:
        """Conservative: removed triples are not subtracted."""
        return self.added.has_incoming(node) or self._base.has_incoming(node)

    def pairs(self, predicate: NamedNode) -> Iterator[tuple[Term, Term]]:
        seen: set[tuple[Term, Term]] = set()
        for s, o in self._base.pairs(predicate):
            if (s, predicate, o) not in self._removed_set:
                seen.add((s, o))
                yield s, o
        for s, o in self.added.pairs(predicate):
            if (s, o) not in seen:
                yield s, o


def rdf_list(view: GraphView, head: Term) -> list[Term]:
    """The members of an RDF collection (stops at a cycle or a malformed cell)."""
    members: list[Term] = []
    seen: set[Term] = set()
    node = head
    while node != RDF_NIL and node not in seen:
        seen.add(node)
        first = view.objects(node, RDF_FIRST)
        if not first:
            break
        members.append(first[0])
        rest = view.objects(node, RDF_REST)
        if not rest:
            break
        node = rest[0]
    return members


class ClassIndex:
    """``rdfs:subClassOf`` closures, computed on demand and cached. ``superclasses`` may be
    shared between validations (a write validator keeps it until the hierarchy changes)."""

    def __init__(self, view: GraphView,
                 superclasses: dict[Term, frozenset[Term]] | None = None) -> None:
        self._view = view
        self._sub: dict[Term, frozenset[Term]] = {}
        self._super: dict[Term, frozenset[Term]] = {} if superclasses is None else superclasses
        self._types: dict[Term, frozenset[Term]] = {}

    def subclasses(self, cls: Term) -> frozenset[Term]:
        """``cls`` and every class below it."""
        cached = self._sub.get(cls)
        if cached is None:
            cached = self._closure(cls, lambda c: self._view.subjects(RDFS_SUBCLASS, c))
            self._sub[cls] = cached
        return cached

    def superclasses(self, cls: Term) -> frozenset[Term]:
        cached = self._super.get(cls)
        if cached is None:
            cached = self._closure(cls, lambda c: self._view.objects(c, RDFS_SUBCLASS))
            self._super[cls] = cached
        return cached

    @staticmethod
    def _closure(start: Term, step: object) -> frozenset[Term]:
        seen = {start}
        frontier = [start]
        while frontier:
            node = frontier.pop()
            for nxt in step(node):  # type: ignore[operator]
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        return frozenset(seen)

    def types(self, node: Term) -> frozenset[Term]:
        """Every class the node is an instance of, superclasses included."""
        cached = self._types.get(node)
        if cached is None:
            found: set[Term] = set()
            for t in self._view.objects(node, RDF_TYPE):
                found |= self.superclasses(t)
            cached = frozenset(found)
            self._types[node] = cached
        return cached

    def is_instance(self, node: Term, cls: Term) -> bool:
        return cls in self.types(node)

    def instances(self, cls: Term) -> list[Term]:
        found: dict[Term, None] = {}
        for c in self.subclasses(cls):
            for s in self._view.subjects(RDF_TYPE, c):
                found[s] = None
        return list(found)


def quad_triple(q: Quad) -> Triple:
    return Triple(q.subject, q.predicate, q.object)

