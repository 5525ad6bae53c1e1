"""The DTDL language tables (``mappings/dtdl/dtdl-v{2,3}.json``, derived from the published
contexts and metamodel by ``scripts/gen_dtdl_tables.py``) and DTMI syntax."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from semtwin.mappings import TABLES

VERSIONS = (2, 3)
CONTEXTS = {f"dtmi:dtdl:context;{v}": v for v in VERSIONS}
_TERM = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$")
DTMI_V3 = re.compile(r"^dtmi:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?"
                     r"(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*"
                     r"(?:;[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,5})?)?$")
# Identifiers the language itself mints (dtmi:dtdl:..., extension ids) may use '_' freely.
_SYSTEM_DTMI = re.compile(r"^dtmi:[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9_]+)*(?:;[0-9.]+)?$")


@dataclass(frozen=True)
class Constraint:
    name: str
    min: int
    max: int | None
    node_kind: str                # Literal | IRI | BlankNodeOrIRI
    datatype: str | None
    classes: tuple[str, ...]
    allowed: tuple[str, ...]      # sh:in, as instance names
    pattern: str | None
    max_length: int | None
    min_inclusive: int | None
    max_inclusive: int | None
    type_inferable: bool
    unique: tuple[str, ...]
    segment: str | None

    @property
    def is_literal(self) -> bool:
        return self.node_kind == "Literal"


@dataclass(frozen=True)
class ClassInfo:
    name: str
    parent: str | None
    abstract: bool
    material: bool
    cotype_of: tuple[str, ...]
    own: dict[str, Constraint]
    descendants: tuple[dict[str, Any], ...]
    id_max_length: int | None


class Language:
    """One DTDL version: its terms, classes and their properties."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.version: int = table["version"]
        self.context: str = table["context"]
        self.global_: dict[str, Any] = table["global"]
        self.id_pattern = re.compile(self.global_["idPattern"])
        self.terms: dict[str, str] = table["terms"]
        self.iri_to_term = {iri: term for term, iri in self.terms.items()}
        self.extensions: dict[str, dict[str, str]] = table["extensions"]
        self.classes: dict[str, ClassInfo] = {}
        for name, raw in table["classes"].items():
            own = {p: _constraint(p, c) for p, c in raw["props"].items()}
            self.classes[name] = ClassInfo(
                name, raw["super"], raw["abstract"], raw["material"],
                tuple(raw.get("cotypeOf", ())), own, tuple(raw.get("descendants", ())),
                raw.get("idMaxLength"))
        self.property_names = {p for c in self.classes.values() for p in c.own} | {"unit"}
        self.semantic_types = {t for t, iri in self.terms.items()
                               if iri.startswith("dtmi:standard:class:")}
        self.semantic_units: dict[str, list[str]] = table["semanticUnits"]

    def lineage(self, name: str) -> list[str]:
        out = []
        current: str | None = name
        while current is not None and current in self.classes:
            out.append(current)
            current = self.classes[current].parent
        return out

    def is_a(self, name: str, ancestor: str) -> bool:
        return ancestor in self.lineage(name)

    def constraints(self, name: str) -> dict[str, Constraint]:
        out: dict[str, Constraint] = {}
        for cls in reversed(self.lineage(name)):
            out.update(self.classes[cls].own)
        return out

    def class_of_term(self, term: str) -> str | None:
        iri = self.terms.get(term)
        if iri and iri.startswith("dtmi:dtdl:class:") and term in self.classes:
            return term
        return None

    def class_of_iri(self, iri: str) -> str | None:
        m = re.fullmatch(r"dtmi:dtdl:class:([A-Za-z]+);(\d+)", iri)
        if m and int(m.group(2)) == self.version and m.group(1) in self.classes:
            return m.group(1)
        return None

    def property_of_iri(self, iri: str) -> str | None:
        m = re.fullmatch(r"dtmi:dtdl:property:([A-Za-z]+);(\d+)", iri)
        if m and int(m.group(2)) == self.version and m.group(1) in self.property_names:
            return m.group(1)
        return None

    def instance(self, value: str) -> str | None:
        """A term or DTMI naming a built-in instance (``double``, ``synchronous``, a
        geospatial schema): its IRI."""
        iri = self.terms.get(value, value)
        if iri.startswith(("dtmi:dtdl:instance:", "dtmi:standard:schema:")) and (
                iri in self.iri_to_term):
            return iri
        return None

    def class_iri(self, name: str) -> str:
        return f"dtmi:dtdl:class:{name};{self.version}"

    def property_iri(self, name: str) -> str:
        return f"dtmi:dtdl:property:{name};{self.version}"


def _constraint(name: str, raw: dict[str, Any]) -> Constraint:
    return Constraint(
        name=name, min=int(raw.get("min", 0)),
        max=int(raw["max"]) if "max" in raw else None,
        node_kind=raw["nodeKind"], datatype=raw.get("datatype"),
        classes=tuple(raw.get("classes", ())), allowed=tuple(raw.get("in", ())),
        pattern=raw.get("pattern"), max_length=raw.get("maxLength"),
        min_inclusive=raw.get("minInclusive"), max_inclusive=raw.get("maxInclusive"),
        type_inferable=bool(raw.get("typeInferable")), unique=tuple(raw.get("unique", ())),
        segment=raw.get("segment"))


@cache
def language(version: int, tables: Path = TABLES) -> Language:
    path = tables / "dtdl" / f"dtdl-v{version}.json"
    return Language(json.loads(path.read_text(encoding="utf-8")))


def is_term(text: str) -> bool:
    return bool(_TERM.match(text))


def dtmi_kind(text: str, lang: Language) -> str:
    """``valid``, ``invalid`` (looks like a DTMI but breaks its rules), ``term`` or
    ``other``."""
    if text.startswith("dtmi:"):
        if len(text) <= lang.global_["idMaxLength"] and (
                lang.id_pattern.match(text) or _SYSTEM_DTMI.match(text)):
            return "valid"
        return "invalid"
    if is_term(text):
        return "term"
    return "other"


def versionless(dtmi: str) -> str:
    return dtmi.split(";", 1)[0]
