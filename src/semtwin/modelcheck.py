"""``semtwin models check``: what an ontology repository's CI should catch before a model
reaches a server: unreadable files, imports nothing provides, shapes graphs that are not
valid SHACL, classes and properties without labels, and OWL inconsistency (HermiT through
owlready2, when Java is there)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semtwin.errors import SemtwinError
from semtwin.rdf import (
    Literal,
    NamedNode,
    RdfFormat,
    Triple,
    format_for_path,
    parse_rdf,
    serialize,
)
from semtwin.shacl import MemoryGraph, ShapesError, ShapesGraph
from semtwin.shacl.vocab import OWL_CLASS, RDF_TYPE, RDFS_CLASS, SH_NODE_SHAPE, SH_PATH, sh

OWL = "http://www.w3.org/2002/07/owl#"
OWL_ONTOLOGY, OWL_IMPORTS = NamedNode(OWL + "Ontology"), NamedNode(OWL + "imports")
LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
PROPERTY_TYPES = (NamedNode(OWL + "ObjectProperty"), NamedNode(OWL + "DatatypeProperty"))
NODE_KINDS = {sh(k) for k in ("IRI", "BlankNode", "Literal", "BlankNodeOrIRI",
                              "BlankNodeOrLiteral", "IRIOrLiteral")}


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning | info
    check: str
    where: str
    message: str


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    def add(self, level: str, check: str, where: str, message: str) -> None:
        self.findings.append(Finding(level, check, where, message))

    def json(self) -> dict[str, Any]:
        return {"files": self.files, "errors": len(self.errors),
                "findings": [f.__dict__ for f in self.findings]}

    def text(self) -> str:
        lines = [f"{self.files} file(s): {len(self.errors)} error(s), "
                 f"{len(self.findings) - len(self.errors)} other finding(s)"]
        lines += [f"{f.level}: [{f.check}] {f.where}: {f.message}" for f in self.findings]
        return "\n".join(lines) + "\n"


def check_models(files: list[Path], *, reasoner: bool = True) -> CheckReport:
    report = CheckReport(files=len(files))
    everything = MemoryGraph()
    per_file: dict[Path, MemoryGraph] = {}
    for path in files:
        try:
            quads = parse_rdf(path.read_bytes(), format_for_path(path.name),
                              base_iri=path.resolve().as_uri(), source=str(path))
        except SemtwinError as err:
            report.add("error", "syntax", str(path), err.detail)
            continue
        view = MemoryGraph(quads)
        per_file[path] = view
        for q in quads:
            everything.add(q.subject, q.predicate, q.object)
    declared = {o.value for o in everything.subjects(RDF_TYPE, OWL_ONTOLOGY)
                if isinstance(o, NamedNode)}
    for path, view in per_file.items():
        for onto, imported in view.pairs(OWL_IMPORTS):
            if isinstance(imported, NamedNode) and imported.value not in declared:
                report.add("error", "imports", str(path),
                           f"{_show(onto)} imports {imported.value}, which no checked file "
                           "declares (a server resolves imports only from its own models)")
        _check_shapes(path, view, report)
        _lint(path, view, report)
    if reasoner:
        _reason(everything, report)
    return report


def _check_shapes(path: Path, view: MemoryGraph, report: CheckReport) -> None:
    try:
        shapes = ShapesGraph(view)
    except ShapesError as err:
        report.add("error", "shacl", str(path), str(err))
        return
    for shape in shapes:
        where = f"{path}: {_show(shape.node)}"
        for name in ("class", "datatype", "targetClass", "path"):
            for value in view.objects(shape.node, sh(name)):
                if isinstance(value, Literal):
                    report.add("error", "shacl", where, f"sh:{name} must be an IRI, not {value}")
        kind = shape.param("nodeKind")
        if kind is not None and kind not in NODE_KINDS:
            report.add("error", "shacl", where, f"sh:nodeKind {kind} is not a node kind")
        if SH_NODE_SHAPE in view.objects(shape.node, RDF_TYPE) and view.objects(shape.node,
                                                                               SH_PATH):
            report.add("error", "shacl", where, "a sh:NodeShape cannot have sh:path")
        for name in ("minCount", "maxCount"):
            low, high = shape.param("minCount"), shape.param("maxCount")
            if (name == "maxCount" and isinstance(low, Literal) and isinstance(high, Literal)
                    and int(low.value) > int(high.value)):
                report.add("error", "shacl", where,
                           f"sh:minCount {low.value} > sh:maxCount {high.value}: nothing fits")
    if shapes.unsupported:
        report.add("warning", "shacl", str(path), "uses SHACL features semtwin does not "
                   f"evaluate: {', '.join(sorted(shapes.unsupported))}")


def _lint(path: Path, view: MemoryGraph, report: CheckReport) -> None:
    for kind, types in (("class", (OWL_CLASS, RDFS_CLASS)), ("property", PROPERTY_TYPES)):
        for t in types:
            for term in view.subjects(RDF_TYPE, t):
                if isinstance(term, NamedNode) and not view.objects(term, LABEL):
                    report.add("warning", "lint", str(path), f"{kind} {term.value} has no "
                               "rdfs:label")


def _reason(everything: MemoryGraph, report: CheckReport) -> None:
    if shutil.which("java") is None:
        report.add("info", "owl", "-", "OWL consistency not checked: Java is not installed "
                   "(owlready2's HermiT reasoner needs it)")
        return
    try:
        import owlready2  # type: ignore[import-untyped]
    except ImportError:
        report.add("info", "owl", "-", "OWL consistency not checked: install the "
                   "'governance' extra (owlready2)")
        return
    # imports are resolved from the checked files, never fetched: drop them for the reasoner
    triples = [Triple(t.subject, t.predicate, t.object) for t in everything.triples()
               if t.predicate != OWL_IMPORTS]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "models.nt"
        path.write_bytes(serialize(triples, format=RdfFormat.N_TRIPLES) or b"")
        world = owlready2.World()
        try:
            ontology = world.get_ontology(path.as_uri()).load()
            with ontology:
                owlready2.sync_reasoner(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            report.add("error", "owl", "-", "the ontologies are inconsistent (HermiT)")
            return
        except Exception as err:  # the reasoner's own failures are findings, not crashes
            report.add("warning", "owl", "-", f"the reasoner could not run: {err}")
            return
        unsatisfiable = [c for c in world.inconsistent_classes()
                         if str(c.iri) != OWL + "Nothing"]
        for cls in unsatisfiable[:50]:
            report.add("error", "owl", str(cls.iri), "class is unsatisfiable (no instance "
                       "can exist)")
        if not unsatisfiable:
            report.add("info", "owl", "-", "consistent (HermiT)")


def _show(term: object) -> str:
    if isinstance(term, NamedNode):
        return term.value
    return str(term)


__all__ = ["CheckReport", "check_models"]
