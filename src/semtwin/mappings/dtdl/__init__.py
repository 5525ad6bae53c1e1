"""DTDL (v2, v3): validate interfaces by the language rules, map them to RDF (DTDL terms, OWL,
SHACL) and back, and map Azure Digital Twins twin documents to twins and back."""

from __future__ import annotations

from typing import Any

from semtwin.mappings import MappingError, SourceFile
from semtwin.mappings.dtdl.from_rdf import interfaces_from_triples
from semtwin.mappings.dtdl.parser import DtdlParser, ModelSet, ParseOptions
from semtwin.mappings.dtdl.to_rdf import model_to_triples
from semtwin.rdf import Quad


def parse_interfaces(files: list[SourceFile], *, allow_undefined_extensions: bool = False,
                     known: dict[str, Any] | None = None) -> ModelSet:
    """Parse and validate; raise ``MappingError`` naming every problem (file and JSON
    pointer)."""
    model = DtdlParser(ParseOptions(allow_undefined_extensions)).parse(files)
    if model.problems:
        raise MappingError(model.problems)
    return model


def interfaces_to_rdf(files: list[SourceFile]) -> tuple[ModelSet, list[Quad]]:
    model = parse_interfaces(files)
    return model, model_to_triples(model, model.contexts)


def rdf_to_interfaces(quads: list[Quad]) -> list[dict[str, Any]]:
    return interfaces_from_triples(quads)


__all__ = ["interfaces_to_rdf", "parse_interfaces", "rdf_to_interfaces"]
