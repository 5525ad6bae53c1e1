"""A shapes graph, compiled: each shape's targets, path, severity, messages and constraint
parameters, read once from a ``GraphView`` so validation never looks at the shapes graph."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from semtwin.rdf import Literal, NamedNode, Term
from semtwin.shacl.footprint import QueryPlan
from semtwin.shacl.graph import GraphView, rdf_list
from semtwin.shacl.paths import Path, ShapesError, parse_path
from semtwin.shacl.sparql import SparqlConstraint, compile_constraint, constraint_query
from semtwin.shacl.vocab import (
    OWL_CLASS,
    RDF_TYPE,
    RDFS_CLASS,
    SH_NODE_SHAPE,
    SH_PATH,
    SH_PROPERTY_SHAPE,
    SH_VIOLATION,
    XSD_BOOLEAN,
    sh,
)

NODE_KINDS = {
    sh("IRI"): (True, False, False), sh("BlankNode"): (False, True, False),
    sh("Literal"): (False, False, True), sh("BlankNodeOrIRI"): (True, True, False),
    sh("BlankNodeOrLiteral"): (False, True, True), sh("IRIOrLiteral"): (True, False, True),
}
_SINGLE = ("class", "datatype", "nodeKind", "minCount", "maxCount", "minExclusive",
           "minInclusive", "maxExclusive", "maxInclusive", "minLength", "maxLength",
           "languageIn", "uniqueLang", "hasValue", "in", "closed", "ignoredProperties",
           "qualifiedValueShape", "qualifiedMinCount", "qualifiedMaxCount",
           "qualifiedValueShapesDisjoint", "flags", "pattern")
_MULTI = ("equals", "disjoint", "lessThan", "lessThanOrEquals", "not", "and", "or", "xone",
          "node", "property", "sparql")
_SHAPE_MARKERS = {sh(n) for n in ("targetClass", "targetNode", "targetSubjectsOf",
                                  "targetObjectsOf", "property", "path")}


@dataclass(eq=False)
class Shape:
    node: Term
    path: Path | None = None
    path_node: Term | None = None
    severity: NamedNode = SH_VIOLATION
    messages: list[Literal] = field(default_factory=list)
    deactivated: bool = False
    target_nodes: list[Term] = field(default_factory=list)
    target_classes: list[Term] = field(default_factory=list)
    target_subjects_of: list[NamedNode] = field(default_factory=list)
    target_objects_of: list[NamedNode] = field(default_factory=list)
    params: dict[str, list[Term]] = field(default_factory=dict)
    # compiled parameters
    pattern: re.Pattern[str] | None = None
    in_values: frozenset[Term] | None = None
    language_in: list[str] | None = None
    ignored: frozenset[Term] = frozenset()
    closed_allowed: frozenset[Term] | None = None
    logic: dict[str, list[list[Term]]] = field(default_factory=dict)
    siblings: list[Term] = field(default_factory=list)
    """Qualified value shapes of sibling property shapes (qualifiedValueShapesDisjoint)."""

    @property
    def is_property_shape(self) -> bool:
        return self.path is not None

    @property
    def has_targets(self) -> bool:
        return bool(self.target_nodes or self.target_classes or self.target_subjects_of
                    or self.target_objects_of)

    def param(self, name: str) -> Term | None:
        found = self.params.get(name)
        return found[0] if found else None


class ShapesGraph:
    """The shapes of one shapes graph, with the ones that have targets listed first."""

    def __init__(self, view: GraphView) -> None:
        self.view = view
        self._shapes: dict[Term, Shape] = {}
        self._property_shapes: dict[Term, list[Shape]] = {}
        self._parents: dict[Term, list[Term]] = {}
        for parent, child in view.pairs(sh("property")):
            self._parents.setdefault(child, []).append(parent)
        candidates: dict[Term, None] = {}
        for kind in (SH_NODE_SHAPE, SH_PROPERTY_SHAPE):
            candidates.update(dict.fromkeys(view.subjects(RDF_TYPE, kind)))
        for marker in _SHAPE_MARKERS - {sh("property")}:
            candidates.update(dict.fromkeys(s for s, _ in view.pairs(marker)))
        self.unsupported: set[str] = set()
        if next(iter(view.pairs(sh("parameter"))), None) is not None:
            self.unsupported.add("ConstraintComponent")
        self._sparql: dict[Term, SparqlConstraint] = {}
        self._plans: dict[tuple[str, tuple[tuple[str, str], ...]], QueryPlan | None] = {}
        for _, constraint in view.pairs(sh("sparql")):  # malformed ones refuse the graph now
            self.sparql_constraint(constraint)
        self.targeted: list[Shape] = []
        for node in candidates:
            shape = self.shape(node)
            if shape.has_targets and not shape.deactivated:
                self.targeted.append(shape)

    def __iter__(self) -> Iterator[Shape]:
        return iter(self._shapes.values())

    def query_plan(self, query: str, prefixes: Mapping[str, str]) -> QueryPlan | None:
        """The footprint plan of a constraint query (``semtwin.shacl.footprint``), made once
        per shapes graph; None when it has none (rdflib cannot read the query, or one of its
        patterns hangs on neither ``$this`` nor a constant)."""
        key = (query, tuple(sorted(prefixes.items())))
        if key not in self._plans:
            try:
                plan: QueryPlan | None = QueryPlan(query, prefixes)
            except Exception:  # rdflib's parser and algebra raise many kinds
                plan = None
            self._plans[key] = plan if plan is not None and plan.bounded else None
        return self._plans[key]

    def sparql_plans(self, shape: Shape) -> list[tuple[Term, QueryPlan | None]]:
        """The shape's active SPARQL constraints and the plans of their queries."""
        found = []
        for node in shape.params.get("sparql", ()):
            constraint = self.sparql_constraint(node)
            if not constraint.deactivated:
                found.append((node, self.query_plan(constraint_query(constraint, shape.path),
                                                    constraint.prefixes)))
        return found

    def unbounded_sparql(self) -> list[Term]:
        """SPARQL constraints with no known footprint: they run on data validated on its
        own, and are reported unsupported on a store."""
        return list(dict.fromkeys(node for shape in self
                                  for node, plan in self.sparql_plans(shape) if plan is None))

    def sparql_constraint(self, node: Term) -> SparqlConstraint:
        found = self._sparql.get(node)
        if found is None:
            found = self._sparql[node] = compile_constraint(self.view, node)
        return found

    def property_shapes(self, shape: Shape) -> list[Shape]:
        found = self._property_shapes.get(shape.node)
        if found is None:
            found = [self.shape(ref) for ref in shape.params.get("property", ())]
            self._property_shapes[shape.node] = found
        return found

    def shape(self, node: Term) -> Shape:
        found = self._shapes.get(node)
        if found is None:
            found = Shape(node)
            self._shapes[node] = found  # before compiling: shapes may refer to themselves
            self._compile(found)
        return found

    def _compile(self, shape: Shape) -> None:
        view, node = self.view, shape.node
        path = view.objects(node, SH_PATH)
        if len(path) > 1:
            raise ShapesError(f"shape {node} has more than one sh:path")
        if path:
            shape.path_node = path[0]
            shape.path = parse_path(view, path[0])
        severity = view.objects(node, sh("severity"))
        if severity and isinstance(severity[0], NamedNode):
            shape.severity = severity[0]
        shape.messages = [m for m in view.objects(node, sh("message")) if isinstance(m, Literal)]
        shape.deactivated = any(isinstance(d, Literal) and d.value == "true"
                                for d in view.objects(node, sh("deactivated")))
        shape.target_nodes = view.objects(node, sh("targetNode"))
        shape.target_classes = view.objects(node, sh("targetClass"))
        types = view.objects(node, RDF_TYPE)
        if (RDFS_CLASS in types or OWL_CLASS in types) and (
                SH_NODE_SHAPE in types or SH_PROPERTY_SHAPE in types):
            shape.target_classes.append(node)
        shape.target_subjects_of = [p for p in view.objects(node, sh("targetSubjectsOf"))
                                    if isinstance(p, NamedNode)]
        shape.target_objects_of = [p for p in view.objects(node, sh("targetObjectsOf"))
                                   if isinstance(p, NamedNode)]
        for name in (*_SINGLE, *_MULTI):
            found = view.objects(node, sh(name))
            if found:
                shape.params[name] = found
        self._check_parameters(shape)

    def _check_parameters(self, shape: Shape) -> None:
        view, params = self.view, shape.params
        for name in ("minCount", "maxCount", "minLength", "maxLength", "qualifiedMinCount",
                     "qualifiedMaxCount"):
            for value in params.get(name, ()):
                if not (isinstance(value, Literal) and value.value.lstrip("+").isdigit()):
                    raise ShapesError(f"sh:{name} of {shape.node} must be a non-negative "
                                      f"integer, not {value}")
        if "nodeKind" in params and params["nodeKind"][0] not in NODE_KINDS:
            raise ShapesError(f"sh:nodeKind of {shape.node} is not a SHACL node kind")
        if "pattern" in params:
            flags = shape.param("flags")
            shape.pattern = _regex(params["pattern"][0],
                                   flags.value if isinstance(flags, Literal) else "")
        if "in" in params:
            shape.in_values = frozenset(rdf_list(view, params["in"][0]))
        if "languageIn" in params:
            shape.language_in = [t.value.lower() for t in rdf_list(view, params["languageIn"][0])
                                 if isinstance(t, Literal)]
        if "ignoredProperties" in params:
            shape.ignored = frozenset(rdf_list(view, params["ignoredProperties"][0]))
        closed = shape.param("closed")
        if isinstance(closed, Literal) and closed.value == "true":
            allowed = set(shape.ignored)
            for prop in params.get("property", ()):
                for p in view.objects(prop, SH_PATH):
                    if isinstance(p, NamedNode):
                        allowed.add(p)
            shape.closed_allowed = frozenset(allowed)
        for name in ("and", "or", "xone"):
            if name in params:
                shape.logic[name] = [rdf_list(view, head) for head in params[name]]
        if "qualifiedValueShape" in params:
            disjoint = shape.param("qualifiedValueShapesDisjoint")
            if isinstance(disjoint, Literal) and disjoint.value == "true":
                for parent in self._parents.get(shape.node, ()):
                    for sibling in view.objects(parent, sh("property")):
                        if sibling != shape.node:
                            shape.siblings.extend(view.objects(sibling,
                                                               sh("qualifiedValueShape")))
        for value in [*params.get("uniqueLang", []), *params.get("closed", [])]:
            if not (isinstance(value, Literal) and value.datatype == XSD_BOOLEAN):
                raise ShapesError(f"{shape.node}: sh:uniqueLang and sh:closed take a boolean")


def _regex(pattern: Term, flags: str) -> re.Pattern[str]:
    if not isinstance(pattern, Literal):
        raise ShapesError("sh:pattern must be a literal")
    bits = 0
    for flag in flags:
        bits |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL,
                 "x": re.VERBOSE}.get(flag, 0)
    text = re.escape(pattern.value) if "q" in flags else pattern.value
    try:
        return re.compile(text, bits)
    except re.error as error:
        raise ShapesError(f"sh:pattern {pattern.value!r} is not a valid regex: {error}") from None

