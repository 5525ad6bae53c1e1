"""SHACL Core and SHACL-SPARQL validation over any ``GraphView``: all of a shapes graph's
targets, or only the focus nodes a change can affect (``semtwin.shacl.incremental``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from semtwin.rdf import BlankNode, Literal, NamedNode, Term, Triple
from semtwin.shacl.graph import ClassIndex, GraphView, MemoryGraph
from semtwin.shacl.paths import Path, Pred, values
from semtwin.shacl.shapes import NODE_KINDS, Shape, ShapesGraph
from semtwin.shacl.sparql import (
    FootprintSparql,
    MemorySparql,
    SparqlConstraint,
    SparqlEngine,
    constraint_query,
)
from semtwin.shacl.sparql import message as sparql_message
from semtwin.shacl.values import compare, is_well_formed, lexical
from semtwin.shacl.vocab import RDF_LANGSTRING, SH_VIOLATION, sh


@dataclass(frozen=True)
class ValidationResult:
    focus: Term
    shape: Term
    component: NamedNode
    severity: NamedNode
    message: str
    path: Path | None = None
    path_node: Term | None = None
    value: Term | None = None
    detail: tuple[ValidationResult, ...] = ()


@dataclass
class ValidationReport:
    results: list[ValidationResult] = field(default_factory=list)
    focus_nodes: int = 0
    unsupported: set[str] = field(default_factory=set)

    @property
    def conforms(self) -> bool:
        return not self.results

    @property
    def violations(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == SH_VIOLATION]


def _component(name: str) -> NamedNode:
    return _COMPONENTS[name]


class Validator:
    """One validation run: caches class closures and nested-shape conformance."""

    def __init__(self, shapes: ShapesGraph, data: GraphView,
                 superclasses: dict[Term, frozenset[Term]] | None = None,
                 stored_form: Callable[[Literal], Literal] | None = None,
                 sparql: SparqlEngine | None = None) -> None:
        """``stored_form``: for data read from a store that keeps some literals as values
        (``"7"^^xsd:int`` comes back as ``"7"^^xsd:integer``), what the store makes of a
        literal; ``sh:datatype D`` then also accepts the stored form of a valid D literal."""
        self.shapes = shapes
        self.data = data
        self.stored_form = stored_form
        if sparql is None:
            sparql = (MemorySparql(data) if isinstance(data, MemoryGraph)
                      else FootprintSparql(data, shapes.query_plan))
        self.sparql = sparql
        """Where SPARQL-based constraints run (a query it cannot evaluate is reported as
        unsupported)."""
        self.classes = ClassIndex(data, superclasses)
        self._conforms: dict[tuple[Term, Term], bool] = {}
        self._compiled: dict[Term, list[tuple[str, Check]]] = {}
        self.unsupported: set[str] = set(shapes.unsupported)

    # -- targets ---------------------------------------------------------------------------
    def focus_nodes(self, shape: Shape) -> dict[Term, None]:
        found: dict[Term, None] = dict.fromkeys(shape.target_nodes)
        for cls in shape.target_classes:
            found.update(dict.fromkeys(self.classes.instances(cls)))
        for p in shape.target_subjects_of:
            found.update((s, None) for s, _ in self.data.pairs(p))
        for p in shape.target_objects_of:
            found.update((o, None) for _, o in self.data.pairs(p))
        return found

    def is_target(self, shape: Shape, node: Term) -> bool:
        if node in shape.target_nodes:
            return True
        if any(self.classes.is_instance(node, cls) for cls in shape.target_classes):
            return True
        if any(self.data.objects(node, p) for p in shape.target_subjects_of):
            return True
        return any(self.data.subjects(p, node) for p in shape.target_objects_of)

    # -- validation ------------------------------------------------------------------------
    def validate_all(self) -> ValidationReport:
        report = ValidationReport()
        for shape in self.shapes.targeted:
            focus = self.focus_nodes(shape)
            report.focus_nodes += len(focus)
            for node in focus:
                report.results.extend(self.validate_shape(shape, node))
        report.unsupported = self.unsupported
        return report

    def validate_nodes(self, nodes: Mapping[Shape, Iterable[Term]]) -> ValidationReport:
        report = ValidationReport()
        for shape, focus in nodes.items():
            for node in focus:
                if self.is_target(shape, node):
                    report.focus_nodes += 1
                    report.results.extend(self.validate_shape(shape, node))
        report.unsupported = self.unsupported
        return report

    def conforms(self, node: Term, shape_node: Term) -> bool:
        key = (shape_node, node)
        cached = self._conforms.get(key)
        if cached is None:
            self._conforms[key] = True  # a recursive reference assumes conformance
            shape = self.shapes.shape(shape_node)
            cached = not self._violates(shape, node)
            self._conforms[key] = cached
        return cached

    def _checks(self, shape: Shape) -> list[tuple[str, Check]]:
        """The shape's constraint checks, looked up once per shape."""
        checks = self._compiled.get(shape.node)
        if checks is None:
            checks = []
            for name in shape.params:
                check = _CHECKS.get(name)
                if check is not None:
                    checks.append((name, check))
            self._compiled[shape.node] = checks
        return checks

    def _value_nodes(self, shape: Shape, focus: Term) -> list[Term]:
        path = shape.path
        if path is None:
            return [focus]
        if type(path) is Pred and not path.inverse:
            return self.data.objects(focus, path.iri)
        return values(self.data, path, focus)

    def _violates(self, shape: Shape, focus: Term) -> bool:
        """Whether the shape has any result at the focus (no report is built)."""
        if shape.deactivated:
            return False
        value_nodes = self._value_nodes(shape, focus)
        for _name, check in self._checks(shape):
            for _finding in check(self, shape, focus, value_nodes):
                return True
        return False

    def validate_shape(self, shape: Shape, focus: Term) -> Iterator[ValidationResult]:
        if shape.deactivated:
            return
        value_nodes = self._value_nodes(shape, focus)
        for name, check in self._checks(shape):
            for finding in check(self, shape, focus, value_nodes):
                yield self._result(shape, focus, name, finding)

    @staticmethod
    def _result(shape: Shape, focus: Term, name: str, finding: Finding) -> ValidationResult:
        if finding.nested is not None:
            return finding.nested
        path: Path | None = shape.path
        path_node = shape.path_node
        if finding.predicate is not None:
            path, path_node = Pred(finding.predicate), finding.predicate
        return ValidationResult(
            focus=focus, shape=shape.node, component=_component(name),
            severity=shape.severity,
            message=(finding.message if finding.own_message or not shape.messages
                     else shape.messages[0].value),
            path=path, path_node=path_node, value=finding.value)


@dataclass(frozen=True, slots=True)
class Finding:
    value: Term | None
    message: str
    nested: ValidationResult | None = None
    """A nested property shape's own result, reported as it is."""
    predicate: NamedNode | None = None
    """The result path when it is not the shape's (sh:closed)."""
    own_message: bool = False
    """The message is the constraint's own (SHACL-SPARQL), not the shape's."""


def _show(term: Term | None) -> str:
    if term is None:
        return "nothing"
    if isinstance(term, NamedNode):
        return f"<{term.value}>"
    return str(term)


Check = Callable[["Validator", Shape, Term, list[Term]], Iterator[Finding]]


def _class(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    for cls in s.params["class"]:
        for value in nodes:
            if isinstance(value, Literal) or not v.classes.is_instance(value, cls):
                yield Finding(value, f"{_show(value)} is not an instance of {_show(cls)}")


def _datatype(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    datatype = s.params["datatype"][0]
    for value in nodes:
        ok = isinstance(value, Literal) and value.datatype == datatype and (
            bool(value.language) if datatype == RDF_LANGSTRING else is_well_formed(value))
        if not ok and v.stored_form is not None and isinstance(value, Literal) and isinstance(
                datatype, NamedNode) and not value.language and datatype != RDF_LANGSTRING:
            written = Literal(value.value, datatype=datatype)
            ok = is_well_formed(written) and v.stored_form(written) == value
        if not ok:
            yield Finding(value, f"{_show(value)} is not a valid {_show(datatype)}")


def _node_kind(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    kind = s.params["nodeKind"][0]
    iri, blank, literal = NODE_KINDS[kind]  # type: ignore[index]
    for value in nodes:
        ok = ((iri and isinstance(value, NamedNode)) or (blank and isinstance(value, BlankNode))
              or (literal and isinstance(value, Literal)))
        if not ok:
            yield Finding(value, f"{_show(value)} is not of node kind {_show(kind)}")


def _count(v: Validator, s: Shape, focus: Term, nodes: list[Term],
           name: str) -> Iterator[Finding]:
    bound = int(s.params[name][0].value)  # type: ignore[union-attr]
    if (name == "minCount" and len(nodes) < bound) or (name == "maxCount" and len(nodes) > bound):
        word = "at least" if name == "minCount" else "at most"
        yield Finding(None, f"{word} {bound} value(s) of {s.path} required, found {len(nodes)}")


def _range(name: str, accepts: tuple[int, ...]) -> Check:
    def check(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
        bound = s.params[name][0]
        for value in nodes:
            order = compare(value, bound)
            if order is None or order not in accepts:
                yield Finding(value, f"{_show(value)} fails sh:{name} {_show(bound)}")
    return check


def _length(name: str) -> Check:
    def check(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
        bound = int(s.params[name][0].value)  # type: ignore[union-attr]
        for value in nodes:
            text = lexical(value)
            if text is None or (len(text) < bound if name == "minLength" else len(text) > bound):
                yield Finding(value, f"{_show(value)} fails sh:{name} {bound}")
    return check


def _pattern(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    assert s.pattern is not None
    for value in nodes:
        text = lexical(value)
        if text is None or not s.pattern.search(text):
            yield Finding(value, f"{_show(value)} does not match {s.pattern.pattern!r}")


def _language_in(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    ranges = s.language_in or []
    for value in nodes:
        lang = value.language.lower() if isinstance(value, Literal) and value.language else None
        if lang is None or not any(lang == r or lang.startswith(r + "-") or r == "*"
                                   for r in ranges):
            yield Finding(value, f"{_show(value)} is not in the languages {ranges}")


def _unique_lang(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    flag = s.params["uniqueLang"][0]
    if not (isinstance(flag, Literal) and flag.value == "true"):
        return
    seen: dict[str, int] = {}
    for value in nodes:
        if isinstance(value, Literal) and value.language:
            seen[value.language.lower()] = seen.get(value.language.lower(), 0) + 1
    for lang, count in seen.items():
        if count > 1:
            yield Finding(None, f"more than one value in language {lang!r}")


def _pairwise(name: str) -> Check:
    def check(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
        for prop in s.params[name]:
            if not isinstance(prop, NamedNode):
                continue
            others = v.data.objects(focus, prop)
            if name == "equals":
                mine, theirs = set(nodes), set(others)
                for value in [*[n for n in nodes if n not in theirs],
                              *[o for o in others if o not in mine]]:
                    yield Finding(value, f"{_show(value)} is not in both {s.path} and "
                                         f"<{prop.value}>")
            elif name == "disjoint":
                theirs = set(others)
                for value in nodes:
                    if value in theirs:
                        yield Finding(value, f"{_show(value)} is also a value of <{prop.value}>")
            else:
                accepts = (-1,) if name == "lessThan" else (-1, 0)
                for value in nodes:
                    for other in others:
                        order = compare(value, other)
                        if order is None or order not in accepts:
                            yield Finding(value, f"{_show(value)} is not sh:{name} {_show(other)} "
                                          f"(<{prop.value}>)")
    return check


def _not(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    for negated in s.params["not"]:
        for value in nodes:
            if v.conforms(value, negated):
                yield Finding(value,
                              f"{_show(value)} conforms to {_show(negated)}, which it must not")


def _logic(name: str) -> Check:
    def check(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
        for members in s.logic.get(name, []):
            for value in nodes:
                passed = sum(1 for m in members if v.conforms(value, m))
                ok = (passed == len(members) if name == "and"
                      else passed >= 1 if name == "or" else passed == 1)
                if not ok:
                    yield Finding(value, f"{_show(value)} conforms to {passed} of the "
                                         f"{len(members)} shapes of sh:{name}")
    return check


def _node(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    for ref in s.params["node"]:
        for value in nodes:
            if not v.conforms(value, ref):
                yield Finding(value, f"{_show(value)} does not conform to {_show(ref)}")


def _property(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    for prop in v.shapes.property_shapes(s):
        for value in nodes:
            for result in v.validate_shape(prop, value):
                yield Finding(result.value, result.message, nested=result)


def _qualified(name: str) -> Check:
    def check(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
        if "qualifiedValueShape" not in s.params:
            return
        qualified = s.params["qualifiedValueShape"][0]
        bound = int(s.params[name][0].value)  # type: ignore[union-attr]
        count = sum(1 for value in nodes if v.conforms(value, qualified) and not any(
            v.conforms(value, sibling) for sibling in s.siblings))
        if count < bound if name == "qualifiedMinCount" else count > bound:
            word = "at least" if name == "qualifiedMinCount" else "at most"
            yield Finding(None, f"{count} value(s) conform to {_show(qualified)}, "
                                f"{word} {bound} required")
    return check


def _closed(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    allowed = s.closed_allowed
    if allowed is None:
        return
    for value in nodes:
        for p, o in v.data.outgoing(value):
            if p not in allowed:
                yield Finding(o, f"<{p.value}> is not allowed on a closed shape", predicate=p)


def _stored(v: Validator, term: Term) -> Term:
    """A literal as the store keeps it, when the data is read from a store."""
    if v.stored_form is not None and isinstance(term, Literal) and not term.language:
        return v.stored_form(term)
    return term


def _has_value(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    """Stored data and stored shapes come back in the store's forms, a write's new values as
    written: with ``stored_form`` both sides are compared as the store keeps them (the same
    in ``sh:in``)."""
    for wanted in s.params["hasValue"]:
        if wanted in nodes:
            continue
        if v.stored_form is None or _stored(v, wanted) not in {_stored(v, n) for n in nodes}:
            yield Finding(None, f"{_show(wanted)} is missing")


def _in(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    allowed = s.in_values or frozenset()
    stored_allowed: set[Term] | None = None
    for value in nodes:
        if value in allowed:
            continue
        if v.stored_form is not None and isinstance(value, Literal):
            if stored_allowed is None:
                stored_allowed = {_stored(v, a) for a in allowed}
            if _stored(v, value) in stored_allowed:
                continue
        yield Finding(value, f"{_show(value)} is not one of the allowed values")


def _sparql(v: Validator, s: Shape, focus: Term, nodes: list[Term]) -> Iterator[Finding]:
    """SHACL-SPARQL constraints: one solution, one result (see ``semtwin.shacl.sparql``)."""
    for node in s.params["sparql"]:
        constraint = v.shapes.sparql_constraint(node)
        if constraint.deactivated:
            continue
        query = constraint_query(constraint, s.path)
        rows = v.sparql.select(
            query, constraint.prefixes, {"this": focus, "currentShape": s.node})
        if rows is None:
            v.unsupported.add("sparql")
            continue
        for row in rows:
            path = row.get("path") if s.path is None else None
            yield Finding(row.get("value", focus if s.path is None else None),
                          _sparql_text(s, constraint, row, focus),
                          predicate=path if isinstance(path, NamedNode) else None,
                          own_message=True)


def _sparql_text(s: Shape, constraint: SparqlConstraint, row: Mapping[str, Term],
                 focus: Term) -> str:
    """The solution's ``?message``, else the constraint's ``sh:message`` filled in, else the
    shape's, else a default."""
    own = row.get("message")
    if isinstance(own, Literal):
        return own.value
    if constraint.messages:
        return sparql_message(constraint.messages[0], row, focus)
    if s.messages:
        return s.messages[0].value
    return f"{_show(focus)} violates the SPARQL constraint {_show(constraint.node)}"


_CHECKS: dict[str, Check] = {
    "class": _class, "datatype": _datatype, "nodeKind": _node_kind,
    "minCount": lambda v, s, f, n: _count(v, s, f, n, "minCount"),
    "maxCount": lambda v, s, f, n: _count(v, s, f, n, "maxCount"),
    "minExclusive": _range("minExclusive", (1,)), "minInclusive": _range("minInclusive", (0, 1)),
    "maxExclusive": _range("maxExclusive", (-1,)),
    "maxInclusive": _range("maxInclusive", (-1, 0)),
    "minLength": _length("minLength"), "maxLength": _length("maxLength"),
    "pattern": _pattern, "languageIn": _language_in, "uniqueLang": _unique_lang,
    "equals": _pairwise("equals"), "disjoint": _pairwise("disjoint"),
    "lessThan": _pairwise("lessThan"), "lessThanOrEquals": _pairwise("lessThanOrEquals"),
    "not": _not, "and": _logic("and"), "or": _logic("or"), "xone": _logic("xone"),
    "node": _node, "property": _property,
    "qualifiedMinCount": _qualified("qualifiedMinCount"),
    "qualifiedMaxCount": _qualified("qualifiedMaxCount"),
    "closed": _closed, "hasValue": _has_value, "in": _in, "sparql": _sparql,
}


def triple_of(result: ValidationResult) -> Triple | None:
    """The offending triple where a result names one (focus, predicate path, value)."""
    if isinstance(result.path, Pred) and not result.path.inverse and result.value is not None:
        return Triple(result.focus, result.path.iri, result.value)  # type: ignore[arg-type]
    return None


_COMPONENTS = MappingProxyType({
    name: sh(("SPARQL" if name == "sparql" else name[0].upper() + name[1:])
             + "ConstraintComponent") for name in _CHECKS})
