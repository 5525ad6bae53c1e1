"""What changed between two versions of a model (ontology and/or SHACL shapes), and whether
each change can break data or apps that conform to the old version.

Breaking: a class or property removed or renamed, a superclass removed, a new required
property, a constraint narrowed (cardinality, datatype, class, pattern, value range, allowed
values, node kind), a shape made stricter (new shape, new constraint, closed, re-activated,
higher severity). Non-breaking: additions, deprecations (``owl:deprecated``), relaxed or
removed constraints, label and comment edits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from semtwin.rdf import BlankNode, Literal, NamedNode, Term
from semtwin.shacl import MemoryGraph, ShapesGraph
from semtwin.shacl.graph import ClassIndex, rdf_list
from semtwin.shacl.shapes import Shape
from semtwin.shacl.values import compare
from semtwin.shacl.vocab import OWL_CLASS, OWL_DEPRECATED, RDF_TYPE, RDFS_CLASS, RDFS_SUBCLASS

OWL = "http://www.w3.org/2002/07/owl#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
PROPERTY_TYPES = (NamedNode(OWL + "ObjectProperty"), NamedNode(OWL + "DatatypeProperty"),
                  NamedNode(OWL + "AnnotationProperty"),
                  NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#Property"))
LABEL, COMMENT = NamedNode(RDFS + "label"), NamedNode(RDFS + "comment")
_WIDER_KINDS = {  # node kind -> kinds that accept everything it accepts
    "IRI": {"BlankNodeOrIRI", "IRIOrLiteral"}, "BlankNode": {"BlankNodeOrIRI",
                                                             "BlankNodeOrLiteral"},
    "Literal": {"BlankNodeOrLiteral", "IRIOrLiteral"},
}
_SEVERITY_RANK = {"Info": 0, "Warning": 1, "Violation": 2}


@dataclass(frozen=True)
class Change:
    breaking: bool
    kind: str
    subject: str
    detail: str

    def json(self) -> dict[str, Any]:
        return {"breaking": self.breaking, "kind": self.kind, "subject": self.subject,
                "detail": self.detail}


@dataclass
class ModelDiff:
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    def add(self, breaking: bool, kind: str, subject: str, detail: str) -> None:
        self.changes.append(Change(breaking, kind, subject, detail))

    def json(self) -> dict[str, Any]:
        return {"compatible": not self.breaking, "breaking": len(self.breaking),
                "nonBreaking": len(self.changes) - len(self.breaking),
                "changes": [c.json() for c in self.changes]}

    def text(self) -> str:
        head = ("compatible" if not self.breaking else
                f"BREAKING: {len(self.breaking)} breaking change(s)")
        lines = [f"{head}; {len(self.changes)} change(s) in all"]
        for c in sorted(self.changes, key=lambda c: (not c.breaking, c.kind, c.subject)):
            mark = "BREAKING" if c.breaking else "ok"
            lines.append(f"[{mark}] {c.kind}: {c.subject}: {c.detail}")
        return "\n".join(lines) + "\n"

    def markdown(self, limit: int = 200) -> str:
        verdict = ("**Compatible**: no breaking change." if not self.breaking else
                   f"**Breaking**: {len(self.breaking)} breaking change(s).")
        lines = [f"### Model change: {verdict}", "",
                 f"{len(self.breaking)} breaking, {len(self.changes) - len(self.breaking)} "
                 "non-breaking.", ""]
        for title, group in (("Breaking", self.breaking),
                             ("Non-breaking", [c for c in self.changes if not c.breaking])):
            if not group:
                continue
            lines += [f"#### {title}", "", "| change | subject | detail |", "|---|---|---|"]
            for c in sorted(group, key=lambda c: (c.kind, c.subject))[:limit]:
                lines.append(f"| {c.kind} | `{c.subject}` | {c.detail.replace('|', '/')} |")
            if len(group) > limit:
                lines.append(f"| … | | {len(group) - limit} more |")
            lines.append("")
        return "\n".join(lines)


def diff_models(old: MemoryGraph, new: MemoryGraph) -> ModelDiff:
    result = ModelDiff()
    _diff_vocabulary(old, new, result)
    _diff_shapes(old, new, result)
    return result


def _named(view: MemoryGraph, types: Iterable[NamedNode]) -> set[NamedNode]:
    return {s for t in types for s in view.subjects(RDF_TYPE, t) if isinstance(s, NamedNode)}


def _labels(view: MemoryGraph, node: Term) -> set[str]:
    return {o.value for o in view.objects(node, LABEL) if isinstance(o, Literal)}


def _deprecated(view: MemoryGraph, node: Term) -> bool:
    return any(isinstance(o, Literal) and o.value in {"true", "1"}
               for o in view.objects(node, OWL_DEPRECATED))


def _diff_vocabulary(old: MemoryGraph, new: MemoryGraph, result: ModelDiff) -> None:
    for what, types in (("class", (OWL_CLASS, RDFS_CLASS)), ("property", PROPERTY_TYPES)):
        before, after = _named(old, types), _named(new, types)
        removed, added = before - after, after - before
        added_by_label = {label: term for term in added for label in _labels(new, term)}
        for term in sorted(removed, key=str):
            renamed = next((added_by_label[label] for label in _labels(old, term)
                            if label in added_by_label), None)
            if renamed is not None:
                result.add(True, f"{what} renamed", term.value, f"now {renamed.value}")
            else:
                result.add(True, f"{what} removed", term.value, f"the {what} is gone")
        for term in sorted(added, key=str):
            result.add(False, f"{what} added", term.value, f"new {what}")
        for term in sorted(before & after, key=str):
            if _deprecated(new, term) and not _deprecated(old, term):
                result.add(False, f"{what} deprecated", term.value, "owl:deprecated true")
            for predicate, name in ((LABEL, "label"), (COMMENT, "comment")):
                if set(old.objects(term, predicate)) != set(new.objects(term, predicate)):
                    result.add(False, f"{name} edited", term.value, f"rdfs:{name} changed")
    old_classes, new_classes = ClassIndex(old), ClassIndex(new)
    for cls in sorted(_named(old, (OWL_CLASS, RDFS_CLASS)) & _named(new, (OWL_CLASS, RDFS_CLASS)),
                      key=str):
        lost = {c for c in old_classes.superclasses(cls) - new_classes.superclasses(cls)
                if isinstance(c, NamedNode)}
        for superclass in sorted(lost, key=str):
            result.add(True, "superclass removed", cls.value,
                       f"no longer a subclass of {superclass.value}")
        if set(new.objects(cls, RDFS_SUBCLASS)) - set(old.objects(cls, RDFS_SUBCLASS)) and not lost:
            result.add(False, "superclass added", cls.value, "new rdfs:subClassOf")


# --- shapes ----------------------------------------------------------------------------
def _shape_entries(shapes: ShapesGraph) -> dict[str, Shape]:
    """Every shape reachable from a targeted or named shape, keyed stably: a named shape by
    its IRI, a blank property shape by its parent's key and its path."""
    entries: dict[str, Shape] = {}
    roots = [s for s in shapes if isinstance(s.node, NamedNode)] + [
        s for s in shapes.targeted if not isinstance(s.node, NamedNode)]

    def visit(shape: Shape, key: str, depth: int) -> None:
        if key in entries or depth > 20:
            return
        entries[key] = shape
        for child in shapes.property_shapes(shape):
            if isinstance(child.node, NamedNode):
                child_key = child.node.value
            else:
                child_key = f"{key} / {child.path}"
                n = 2
                while child_key in entries:
                    child_key = f"{key} / {child.path} #{n}"
                    n += 1
            visit(child, child_key, depth + 1)

    for root in roots:
        visit(root, root.node.value if isinstance(root.node, NamedNode) else
              f"_:{root.path}", 0)
    return entries


def _diff_shapes(old_view: MemoryGraph, new_view: MemoryGraph, result: ModelDiff) -> None:
    old, new = ShapesGraph(old_view), ShapesGraph(new_view)
    before, after = _shape_entries(old), _shape_entries(new)
    new_classes = ClassIndex(new_view)
    for key in sorted(set(before) - set(after)):
        result.add(False, "shape removed", key, "its constraints no longer apply")
    for key in sorted(set(after) - set(before)):
        shape = after[key]
        constraints = _constraints(shape)
        if not constraints and not shapes_refs(shape):
            continue
        required = shape.param("minCount")
        if shape.path is not None and isinstance(required, Literal) and int(required.value) > 0:
            result.add(True, "new required property", key, f"sh:minCount {required.value}")
        else:
            result.add(True, "new shape", key,
                       "new constraints: " + ", ".join(sorted(constraints)) if constraints
                       else "new nested shapes")
    for key in sorted(set(before) & set(after)):
        _diff_shape(key, before[key], after[key], old_view, new_view, new_classes, result)


def shapes_refs(shape: Shape) -> bool:
    return any(name in shape.params for name in ("property", "node", "and", "or", "xone", "not"))


_CONSTRAINTS = ("class", "datatype", "nodeKind", "minCount", "maxCount", "minExclusive",
                "minInclusive", "maxExclusive", "maxInclusive", "minLength", "maxLength",
                "pattern", "flags", "languageIn", "uniqueLang", "equals", "disjoint", "lessThan",
                "lessThanOrEquals", "hasValue", "in", "closed", "ignoredProperties",
                "qualifiedMinCount", "qualifiedMaxCount", "sparql")


def _constraints(shape: Shape) -> set[str]:
    return {name for name in _CONSTRAINTS if name in shape.params}


def _terms(view: MemoryGraph, shape: Shape, name: str) -> set[str]:
    values = shape.params.get(name, [])
    if name in {"in", "languageIn", "ignoredProperties"}:
        return {str(t) for v in values for t in rdf_list(view, v)}
    return {str(v) for v in values if not isinstance(v, BlankNode)}


def _diff_shape(key: str, old: Shape, new: Shape, old_view: MemoryGraph,
                new_view: MemoryGraph, new_classes: ClassIndex, result: ModelDiff) -> None:
    def add(breaking: bool, detail: str) -> None:
        result.add(breaking, "constraint narrowed" if breaking else "constraint relaxed",
                   key, detail)

    for name in sorted(_constraints(old) | _constraints(new)):
        was, now = _terms(old_view, old, name), _terms(new_view, new, name)
        if was == now:
            continue
        if not now:
            add(False, f"sh:{name} removed")
            continue
        if name == "minCount" or name == "qualifiedMinCount" or name == "minLength":
            add(_num(now) > _num(was, 0), f"sh:{name} {_show(was)} → {_show(now)}")
        elif name in {"maxCount", "qualifiedMaxCount", "maxLength"}:
            add(not was or _num(now) < _num(was), f"sh:{name} {_show(was)} → {_show(now)}")
        elif name in {"minInclusive", "minExclusive", "maxInclusive", "maxExclusive"}:
            order = _order(old.param(name), new.param(name))
            tighter = (order is None or not was
                       or (order > 0 if name.startswith("min") else order < 0))
            add(tighter, f"sh:{name} {_show(was)} → {_show(now)}")
        elif name in {"in", "languageIn"}:
            add(not was or bool(was - now), f"sh:{name} {len(was)} → {len(now)} values"
                + (f" (removed {', '.join(sorted(was - now)[:5])})" if was - now else ""))
        elif name == "class":
            relaxed = bool(was) and all(
                any(NamedNode(c.strip("<>")) in new_classes.superclasses(NamedNode(o.strip("<>")))
                    for c in now) for o in was)
            add(not relaxed, f"sh:class {_show(was)} → {_show(now)}")
        elif name == "nodeKind":
            old_kind = next(iter(was), "").rsplit("#", 1)[-1].rstrip(">")
            new_kind = next(iter(now), "").rsplit("#", 1)[-1].rstrip(">")
            add(not was or new_kind not in _WIDER_KINDS.get(old_kind, set()),
                f"sh:nodeKind {old_kind or 'none'} → {new_kind}")
        elif name == "ignoredProperties":
            add(not now >= was, "sh:ignoredProperties changed")
        else:
            add(True, f"sh:{name} {_show(was) or 'none'} → {_show(now)}")
    if new.deactivated != old.deactivated:
        add(old.deactivated, "re-activated" if old.deactivated else "deactivated")
    old_rank = _SEVERITY_RANK.get(old.severity.value.rsplit("#", 1)[-1], 2)
    new_rank = _SEVERITY_RANK.get(new.severity.value.rsplit("#", 1)[-1], 2)
    if old_rank != new_rank:
        add(new_rank > old_rank, f"severity {old.severity.value.rsplit('#', 1)[-1]} → "
                                 f"{new.severity.value.rsplit('#', 1)[-1]}")
    old_targets = {str(t) for t in old.target_classes + old.target_nodes}
    new_targets = {str(t) for t in new.target_classes + new.target_nodes}
    if new_targets - old_targets:
        result.add(True, "shape made stricter", key, "new targets: "
                   + ", ".join(sorted(new_targets - old_targets)[:5]))


def _num(values: set[str], default: int | None = None) -> float:
    numbers = []
    for v in values:
        text = v.split("^^")[0].strip('"')
        try:
            numbers.append(float(text))
        except ValueError:
            continue
    if not numbers:
        return float(default) if default is not None else float("inf")
    return numbers[0]


def _order(old: Term | None, new: Term | None) -> int | None:
    if old is None or new is None:
        return None
    return compare(new, old)


def _show(values: set[str]) -> str:
    return ", ".join(sorted(v.split("^^")[0] for v in values))
