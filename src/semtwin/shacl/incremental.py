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

from semtwin.rdf import NamedNode, Term, Triple
from semtwin.shacl.graph import GraphView
from semtwin.shacl.paths import predicates_of, readers, sources
from semtwin.shacl.shapes import Shape, ShapesGraph
from semtwin.shacl.vocab import RDF_TYPE, RDFS_SUBCLASS

ANY = NamedNode("urn:semtwin:any-predicate")
_NESTED_SINGLE = ("node", "not", "qualifiedValueShape")


class ChangeScope:
    """Per shapes graph: the predicates each shape can read, computed once."""

    def __init__(self, shapes: ShapesGraph) -> None:
        self.shapes = shapes
        self._reads: dict[Term, frozenset[NamedNode]] = {}

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
        for name in ("equals", "disjoint", "lessThan", "lessThanOrEquals"):
            found.update(p for p in shape.params.get(name, ()) if isinstance(p, NamedNode))
        for ref in self.nested(shape):
            if ref not in stack:
                found |= self.predicates(self.shapes.shape(ref), stack | {shape.node})
        result = frozenset(found)
        if not stack:
            self._reads[shape.node] = result
        return result

    def affected(self, either: GraphView,
                 changed: Iterable[Triple]) -> dict[Shape, set[Term]] | None:
        """Candidate focus nodes per targeted shape, or None when everything must be checked."""
        changed = list(changed)
        if any(t.predicate == RDFS_SUBCLASS for t in changed):
            return None
        out: dict[Shape, set[Term]] = {}
        for shape in self.shapes.targeted:
            reads = self.predicates(shape)
            nodes: set[Term] = set()
            for t in changed:
                s, p, o = t.subject, t.predicate, t.object
                if p == RDF_TYPE and shape.target_classes:
                    nodes.add(s)
                if p in shape.target_subjects_of:
                    nodes.add(s)
                if p in shape.target_objects_of:
                    nodes.add(o)
                if p in reads or ANY in reads:
                    nodes |= self._readers(either, shape, s, p, o, frozenset())
            if nodes:
                out[shape] = nodes
        return out

    def _readers(self, view: GraphView, shape: Shape, s: Term, p: NamedNode, o: Term,
                 stack: frozenset[Term]) -> set[Term]:
        """Nodes at which validating ``shape`` reads ``(s, p, o)``."""
        if shape.node in stack:
            return set()
        stack = stack | {shape.node}
        value_level: set[Term] = set()
        if p == RDF_TYPE and "class" in shape.params:
            value_level.add(s)
        if shape.closed_allowed is not None:
            value_level.add(s)
        for ref in self.nested(shape):
            nested = self.shapes.shape(ref)
            if p in self.predicates(nested) or ANY in self.predicates(nested):
                value_level |= self._readers(view, nested, s, p, o, stack)
        focus_level: set[Term] = set()
        for name in ("equals", "disjoint", "lessThan", "lessThanOrEquals"):
            if p in shape.params.get(name, ()):
                focus_level.add(s)
        if shape.path is None:
            return value_level | focus_level
        focus_level.update(readers(view, shape.path, s, p, o))
        if value_level:
            focus_level.update(sources(view, shape.path, value_level))
        return focus_level
