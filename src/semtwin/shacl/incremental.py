"""Which focus nodes a change can affect, per shape: only those are validated on a write.

A triple ``(s, p, o)`` added or removed changes a shape's result at ``X`` only if validating
the shape at ``X`` reads it: along the shape's path (``paths.readers``), as a value node's
type (``sh:class``), its outgoing triples (``sh:closed``), a comparison property
(``sh:equals``, ``sh:lessThan``…), or inside a nested shape (``sh:node``, ``sh:property``,
logical and qualified shapes), walked back to ``X`` along the path. Targets can change too:
a new type, a new ``targetSubjectsOf`` triple. The walk runs over the store with both the old
and the new triples, so it finds readers before and after the change; the cost follows the
change and the shapes, not the size of the store. A change to ``rdfs:subClassOf`` reaches
every class check, so it asks for full validation instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from semtwin.rdf import Literal, NamedNode, Term, Triple
from semtwin.shacl.footprint import QueryPlan, Unbounded
from semtwin.shacl.graph import GraphView
from semtwin.shacl.paths import arrivals, predicates_of, readers, sources
from semtwin.shacl.shapes import Shape, ShapesGraph
from semtwin.shacl.validator import Validator
from semtwin.shacl.vocab import RDF_TYPE, RDFS_SUBCLASS

ANY = NamedNode("urn:semtwin:any-predicate")
_COMPARISONS = ("equals", "disjoint", "lessThan", "lessThanOrEquals")
_NESTED_SINGLE = ("node", "not", "qualifiedValueShape")


def _unreachable(view: GraphView, node: Term) -> bool:
    """No other node reaches ``node`` along a path: nothing points to it, and it points to
    nothing but literals and its classes (an inverse step needs a node it points to)."""
    if view.has_incoming(node):
        return False
    return all(p == RDF_TYPE or isinstance(o, Literal) for p, o in view.outgoing(node))


@dataclass
class _Scan:
    """What the walk for one changed triple keeps besides the focus nodes it finds."""

    sources: dict[tuple[object, frozenset[Term]], frozenset[Term]] = field(
        default_factory=dict)
    """Nodes that reach some value nodes along a path, per (path, value nodes): shapes share
    nested shapes and paths."""
    unbounded: set[Term] = field(default_factory=set)
    """Shapes whose SPARQL constraint's walk back passed its limit."""
    everything: bool = False
    """A SPARQL constraint's part every focus node shares can read the triple."""


class ChangeScope:
    """Per shapes graph: the predicates each shape can read, and indexes from a predicate or
    a class to the targeted shapes that care, computed once."""

    def __init__(self, shapes: ShapesGraph) -> None:
        self.shapes = shapes
        self._reads: dict[Term, frozenset[NamedNode]] = {}
        self._by_predicate: dict[NamedNode, list[Shape]] = {}
        self._any: list[Shape] = []
        self._subjects_of: dict[NamedNode, list[Shape]] = {}
        self._objects_of: dict[NamedNode, list[Shape]] = {}
        self.by_class: dict[Term, list[Shape]] = {}
        self._nested: dict[Term, list[Shape]] = {}
        self._sparql_plans: dict[Term, list[QueryPlan]] = {}
        self._class_arrivals: dict[Term, frozenset[tuple[NamedNode, bool]] | None] = {}
        for shape in shapes.targeted:
            reads = self.predicates(shape)
            if ANY in reads:
                self._any.append(shape)
            for p in reads - {ANY}:
                self._by_predicate.setdefault(p, []).append(shape)
            for p in shape.target_subjects_of:
                self._subjects_of.setdefault(p, []).append(shape)
            for p in shape.target_objects_of:
                self._objects_of.setdefault(p, []).append(shape)
            for cls in shape.target_classes:
                self.by_class.setdefault(cls, []).append(shape)
        # shapes whose check of their own focus reads the focus's type (sh:class at the
        # node, directly or through nested node-level shapes)
        self._focus_type_readers = [shape for shape in shapes.targeted
                                    if self._reads_own_type(shape, frozenset())]
        # shapes that walk rdf:type itself along a path or in a SPARQL query (they may read a
        # type triple from its class's side)
        self._type_path_readers = [shape for shape in shapes.targeted
                                   if self._type_on_path(shape, frozenset())]

    def _reads_own_type(self, shape: Shape, stack: frozenset[Term]) -> bool:
        if shape.path is not None or shape.node in stack:
            return False
        if "class" in shape.params:
            return True
        return any(self._reads_own_type(nested, stack | {shape.node})
                   for nested in self._nested_shapes(shape)
                   if nested.node not in shape.params.get("property", ()))

    def _type_on_path(self, shape: Shape, stack: frozenset[Term]) -> bool:
        if shape.node in stack:
            return False
        if shape.path is not None and RDF_TYPE in predicates_of(shape.path):
            return True
        if any(plan.reads(RDF_TYPE) for plan in self._plans(shape)):
            return True
        return any(self._type_on_path(nested, stack | {shape.node})
                   for nested in self._nested_shapes(shape))

    def nested(self, shape: Shape) -> list[Term]:
        refs: list[Term] = []
        for name in (*_NESTED_SINGLE, "property"):
            refs.extend(shape.params.get(name, ()))
        for members in shape.logic.values():
            for member_list in members:
                refs.extend(member_list)
        refs.extend(shape.siblings)
        return refs

    def predicates(self, shape: Shape, stack: frozenset[Term] = frozenset()) -> frozenset[
            NamedNode]:
        cached = self._reads.get(shape.node)
        if cached is not None:
            return cached
        found: set[NamedNode] = set()
        if shape.path is not None:
            found |= predicates_of(shape.path)
        if "class" in shape.params:
            found.add(RDF_TYPE)
        if shape.closed_allowed is not None:
            found.add(ANY)
        for name in _COMPARISONS:
            found.update(p for p in shape.params.get(name, ()) if isinstance(p, NamedNode))
        for plan in self._plans(shape):
            if plan.any_predicate:
                found.add(ANY)
            found |= plan.predicates
        for ref in self.nested(shape):
            if ref not in stack:
                found |= self.predicates(self.shapes.shape(ref), stack | {shape.node})
        result = frozenset(found)
        if not stack:
            self._reads[shape.node] = result
        return result

    def _arrivals_of_class_reads(self, shape: Shape) -> frozenset[tuple[NamedNode, bool]] | None:
        """For a targeted shape that reads ``rdf:type`` only as ``sh:class`` of value nodes
        reached along its paths (at any nesting): the last steps of those paths. A type
        triple of a node none of them arrives at is not read by it. None: it may read types
        otherwise (its own focus's, along a path, a closed shape, a SPARQL query, a path that
        can be empty)."""
        if shape.node in self._class_arrivals:
            return self._class_arrivals[shape.node]
        found: set[tuple[NamedNode, bool]] | None = set()
        if self._reads_own_type(shape, frozenset()):
            found = None
        pending, seen = [shape], {shape.node}
        while pending and found is not None:
            current = pending.pop()
            if (current.closed_allowed is not None or any(
                    plan.reads(RDF_TYPE) for plan in self._plans(current)) or any(
                    RDF_TYPE in current.params.get(name, ()) for name in _COMPARISONS)):
                found = None
                break
            if current.path is not None:
                last, empty = arrivals(current.path)
                if empty or RDF_TYPE in predicates_of(current.path):
                    found = None
                    break
                found |= last
            for nested in self._nested_shapes(current):
                if nested.node not in seen:
                    seen.add(nested.node)
                    pending.append(nested)
        result = None if found is None else frozenset(found)
        self._class_arrivals[shape.node] = result
        return result

    def _plans(self, shape: Shape) -> list[QueryPlan]:
        """Footprint plans of the shape's own SPARQL constraints (those without one are
        never evaluated on a store, so no change affects them)."""
        cached = self._sparql_plans.get(shape.node)
        if cached is None:
            cached = self._sparql_plans[shape.node] = [
                plan for _, plan in self.shapes.sparql_plans(shape) if plan is not None]
        return cached

    def affected(self, either: GraphView, changed: Iterable[Triple],
                 unbounded: set[Term] | None = None,
                 ) -> tuple[dict[Shape, set[Term]], set[Term]] | None:
        """Candidate focus nodes per targeted shape, and the nodes whose types changed (they
        may have become targets of class-targeted shapes: ``focus`` resolves them); None
        when everything must be checked. Shapes whose SPARQL constraint's walk back from a
        changed triple grew past its limit go into ``unbounded``."""
        unbounded = set() if unbounded is None else unbounded
        changed = list(changed)
        if any(t.predicate == RDFS_SUBCLASS for t in changed):
            return None
        out: dict[Shape, set[Term]] = {}
        typed: set[Term] = set()
        for t in changed:
            s, p, o = t.subject, t.predicate, t.object
            scan = _Scan()
            if p == RDF_TYPE:
                typed.add(s)
                if _unreachable(either, s):
                    # no path leads to s from another node: the shapes that check s's own
                    # type, and those that walk rdf:type itself
                    for shape in self._focus_type_readers:
                        out.setdefault(shape, set()).add(s)
                    for shape in self._subjects_of.get(p, ()):
                        out.setdefault(shape, set()).add(s)
                    for shape in self._objects_of.get(p, ()):
                        out.setdefault(shape, set()).add(o)
                    for shape in self._type_path_readers:
                        nodes = self._readers(either, shape, s, p, o, frozenset(), scan)
                        if nodes:
                            out.setdefault(shape, set()).update(nodes)
                    continue
            for shape in self._subjects_of.get(p, ()):
                out.setdefault(shape, set()).add(s)
            for shape in self._objects_of.get(p, ()):
                out.setdefault(shape, set()).add(o)
            edges: frozenset[tuple[NamedNode, bool]] | None = None
            for shape in (*self._by_predicate.get(p, ()), *self._any):
                if p == RDF_TYPE:
                    steps = self._arrivals_of_class_reads(shape)
                    if steps is not None:
                        if edges is None:  # how paths can arrive at s: read once
                            edges = frozenset(
                                {(q, False) for _, q in either.incoming(s)}
                                | {(q, True) for q, _ in either.outgoing(s)})
                        if not steps & edges:
                            continue  # no path of the shape ends at s
                nodes = self._readers(either, shape, s, p, o, frozenset(), scan)
                if nodes:
                    out.setdefault(shape, set()).update(nodes)
            unbounded |= scan.unbounded
            if scan.everything:
                return None
        return out, typed

    def focus(self, validator: Validator, either: GraphView,
              changed: Iterable[Triple]) -> dict[Shape, set[Term]] | None:
        """The (shape, focus nodes) a change needs validated; None: validate everything."""
        unbounded: set[Term] = set()
        found = self.affected(either, changed, unbounded)
        if unbounded:
            validator.unsupported.add("sparql")
        if found is None:
            return None
        nodes, typed = found
        for node in typed:
            for cls in validator.classes.types(node):
                for shape in self.by_class.get(cls, ()):
                    nodes.setdefault(shape, set()).add(node)
        return nodes

    def _readers(self, view: GraphView, shape: Shape, s: Term, p: NamedNode, o: Term,
                 stack: frozenset[Term], scan: _Scan) -> frozenset[Term]:
        """Nodes at which validating ``shape`` reads ``(s, p, o)``; ``scan`` holds what was
        found for this triple already."""
        if shape.node in stack:
            return frozenset()
        inner = stack | {shape.node}
        value_level: set[Term] = set()
        if p == RDF_TYPE and "class" in shape.params:
            value_level.add(s)
        if shape.closed_allowed is not None:
            value_level.add(s)
        for nested in self._nested_shapes(shape):
            reads = self.predicates(nested)
            if p in reads or ANY in reads:
                value_level |= self._readers(view, nested, s, p, o, inner, scan)
        focus_level: set[Term] = set()
        for name in _COMPARISONS:
            if p in shape.params.get(name, ()):
                focus_level.add(s)
        for plan in self._plans(shape):  # $this of a SPARQL constraint is the shape's focus
            if plan.reads(p):
                try:
                    found = plan.focus_candidates(view, Triple(s, p, o))  # type: ignore[arg-type]
                except Unbounded:
                    scan.unbounded.add(shape.node)
                    continue
                if found is None:  # a part of the query every focus node shares
                    scan.everything = True
                else:
                    focus_level |= found
        if shape.path is not None:
            focus_level.update(readers(view, shape.path, s, p, o))
            if value_level:
                key = (shape.path, frozenset(value_level))
                reached = scan.sources.get(key)
                if reached is None:
                    reached = frozenset(sources(view, shape.path, value_level))
                    scan.sources[key] = reached
                focus_level.update(reached)
            result = frozenset(focus_level)
        else:
            result = frozenset(value_level | focus_level)
        return result

    def _nested_shapes(self, shape: Shape) -> list[Shape]:
        found = self._nested.get(shape.node)
        if found is None:
            found = [self.shapes.shape(ref) for ref in self.nested(shape)]
            self._nested[shape.node] = found
        return found
