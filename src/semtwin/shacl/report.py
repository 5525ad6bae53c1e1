"""Validation reports as apps read them (JSON) and as SHACL writes them (RDF)."""

from __future__ import annotations

from typing import Any

from semtwin.rdf import BlankNode, Literal, NamedNode, RdfFormat, Term, Triple, serialize
from semtwin.shacl.paths import Path, Pred
from semtwin.shacl.validator import ValidationReport, ValidationResult
from semtwin.shacl.vocab import RDF_NS, RDF_TYPE, SH_NS, XSD_BOOLEAN, XSD_NS, sh


def term_json(term: Term | None) -> str | None:
    """IRIs bare, blank nodes ``_:id``, literals in N-Triples form."""
    if term is None:
        return None
    if isinstance(term, NamedNode):
        return term.value
    return str(term)


def path_json(path: Path | None) -> str | None:
    """A predicate path as its IRI, any other path in SPARQL property path syntax."""
    if path is None:
        return None
    if isinstance(path, Pred) and not path.inverse:
        return path.iri.value
    return str(path)


def _severity_name(severity: NamedNode) -> str:
    return severity.value.rsplit("#", 1)[-1]


def result_json(result: ValidationResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "focusNode": term_json(result.focus),
        "resultPath": path_json(result.path),
        "value": term_json(result.value),
        "sourceShape": term_json(result.shape),
        "sourceConstraintComponent": result.component.value,
        "severity": _severity_name(result.severity),
        "message": result.message,
    }
    return {k: v for k, v in out.items() if v is not None}


def report_json(report: ValidationReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "conforms": report.conforms,
        "results": [result_json(r) for r in report.results],
    }
    if report.unsupported:
        out["unsupported"] = sorted(report.unsupported)
    return out


def report_triples(report: ValidationReport) -> list[Triple]:
    root = BlankNode()
    triples = [Triple(root, RDF_TYPE, sh("ValidationReport")),
               Triple(root, sh("conforms"),
                      Literal("true" if report.conforms else "false", datatype=XSD_BOOLEAN))]
    for result in report.results:
        node = BlankNode()
        triples += [Triple(root, sh("result"), node),
                    Triple(node, RDF_TYPE, sh("ValidationResult")),
                    Triple(node, sh("focusNode"), result.focus),
                    Triple(node, sh("resultSeverity"), result.severity),
                    Triple(node, sh("sourceConstraintComponent"), result.component),
                    Triple(node, sh("sourceShape"), result.shape),
                    Triple(node, sh("resultMessage"), Literal(result.message))]
        if isinstance(result.path_node, NamedNode):
            triples.append(Triple(node, sh("resultPath"), result.path_node))
        elif result.path is not None:
            triples.append(Triple(node, sh("resultPath"), Literal(str(result.path))))
        if result.value is not None:
            triples.append(Triple(node, sh("value"), result.value))
    return triples


def report_text(report: ValidationReport) -> str:
    if report.conforms:
        return f"Conforms ({report.focus_nodes} focus nodes checked)\n"
    lines = [f"Does not conform: {len(report.results)} result(s) "
             f"({report.focus_nodes} focus nodes checked)"]
    for r in report.results:
        where = f" path {r.path}" if r.path is not None else ""
        value = f" value {term_json(r.value)}" if r.value is not None else ""
        lines.append(f"- {_severity_name(r.severity)}: {term_json(r.focus)}{where}{value}: "
                     f"{r.message} [{r.component.value.rsplit('#', 1)[-1]}, shape "
                     f"{term_json(r.shape)}]")
    return "\n".join(lines) + "\n"


def report_turtle(report: ValidationReport) -> bytes:
    return serialize(report_triples(report), format=RdfFormat.TURTLE, prefixes={
        "sh": SH_NS, "rdf": RDF_NS, "xsd": XSD_NS}) or b""
