"""DTDL interfaces to RDF, three layers in one graph:

1. the DTDL elements themselves, in DTDL's own RDF terms (what its JSON-LD context expands
   to: ``dtmi:dtdl:class:Interface;3``, ``dtmi:dtdl:property:contents;3``...), with the
   elements' DTMIs as IRIs (anonymous elements get DTDLParser-style minted DTMIs); this
   layer alone is enough to export the interfaces again;
2. OWL: each Interface an ``owl:Class`` (``extends`` as ``rdfs:subClassOf``), each Property
   a datatype property, each Relationship an object property, each Component a datatype
   property holding JSON; labels and comments from displayName and description; semantic
   types and units as QUDT quantity kinds and units where a mapping exists;
3. SHACL: each Interface a node shape (implicit class target) with a property shape per
   Property (datatype or ``sh:in`` for enums, at most one value), Relationship (``sh:class``
   of the target, ``sh:maxCount`` from maxMultiplicity) and Component. Telemetry and Command
   stay model metadata (layer 1): twins carry no values for them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from semtwin.mappings import TABLES
from semtwin.mappings.dtdl.parser import Element, LangString, ModelSet, Ref
from semtwin.rdf import BlankNode, Literal, NamedNode, Quad

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SH = "http://www.w3.org/ns/shacl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
QUDT = "http://qudt.org/schema/qudt/"
ST = "https://semtwin.dev/ns#"
RDF_JSON = RDF + "JSON"
PRIMITIVES = {"boolean": "boolean", "date": "date", "dateTime": "dateTime", "double": "double",
              "duration": "duration", "float": "float", "integer": "int", "long": "long",
              "string": "string", "time": "time", "byte": "byte", "bytes": "base64Binary",
              "decimal": "decimal", "short": "short", "uuid": "string",
              "unsignedByte": "unsignedByte", "unsignedInteger": "unsignedInt",
              "unsignedLong": "unsignedLong", "unsignedShort": "unsignedShort"}
# Written beside the DTDL layer so that an export can rebuild the documents.
DTDL_CONTEXT = NamedNode(ST + "dtdlContext")
DTDL_PARENT = NamedNode(ST + "dtdlParent")
DTDL_COTYPE = NamedNode(ST + "dtdlCotype")
DTDL_EXTRA = NamedNode(ST + "dtdlExtra")


def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


@cache
def qudt_table(tables: Path = TABLES) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (tables / "dtdl" / "qudt.json").read_text(encoding="utf-8"))
    return data


def primitive_datatype(schema_iri: str) -> str | None:
    """The XSD datatype of a DTDL primitive schema instance IRI, if it is one."""
    if not schema_iri.startswith("dtmi:dtdl:instance:Schema:"):
        return None
    name = schema_iri.rsplit(":", 1)[1].split(";")[0]
    return XSD + PRIMITIVES[name] if name in PRIMITIVES else None


def model_to_triples(model: ModelSet, contexts: dict[str, list[str]]) -> list[Quad]:
    """Every element of a parsed model set (all three layers), as default-graph quads.
    ``contexts`` gives each root interface's ``@context`` list (for the export)."""
    out: list[Quad] = []
    seen: set[str] = set()
    for root in model.roots:
        for value in contexts.get(root.id, []):
            out.append(Quad(_n(root.id), DTDL_CONTEXT, Literal(value)))
        _element(root, None, out, seen)
    for root in model.roots:
        _owl_and_shapes(root, model, out)
    return out


def _element(element: Element, parent: Element | None, out: list[Quad],
             seen: set[str]) -> None:
    if element.id in seen:
        return
    seen.add(element.id)
    lang = element.lang
    subject = _n(element.id)
    out.append(Quad(subject, _n(RDF + "type"), _n(lang.class_iri(element.cls))))
    if parent is not None:
        out.append(Quad(subject, DTDL_PARENT, _n(parent.id)))
    for cotype in element.cotypes:
        iri = lang.terms.get(cotype) or _extension_iri(element, cotype)
        if iri:
            out.append(Quad(subject, _n(RDF + "type"), _n(iri)))
        else:
            out.append(Quad(subject, DTDL_COTYPE, Literal(cotype)))
    for name, values in element.props.items():
        predicate = _n(lang.property_iri(name))
        for value in values:
            if isinstance(value, Element):
                out.append(Quad(subject, predicate, _n(value.id)))
                _element(value, element, out, seen)
            elif isinstance(value, Ref):
                out.append(Quad(subject, predicate, _n(value.iri)))
            elif isinstance(value, LangString):
                out.append(Quad(subject, predicate, Literal(value.value,
                                                            language=value.language)))
            else:
                out.append(Quad(subject, predicate, Literal(value)))
    unit = element.extra.get("unit")
    if unit:
        unit_iri = lang.terms.get(unit) or \
            f"dtmi:dtdl:extension:quantitativeTypes:v1:unit:{unit}"
        out.append(Quad(subject, _n(lang.property_iri("unit")), _n(unit_iri)))
    for key, value in element.extra.items():
        if key != "unit":
            out.append(Quad(subject, DTDL_EXTRA,
                            Literal(json.dumps({key: value}, sort_keys=True))))


def _extension_iri(element: Element, term: str) -> str | None:
    for terms in element.lang.extensions.values():
        if term in terms:
            return terms[term]
    return None


def _label(element: Element, subject: NamedNode, predicate: str, name: str,
           out: list[Quad]) -> None:
    for value in element.many(name):
        if isinstance(value, LangString):
            out.append(Quad(subject, _n(predicate), Literal(value.value,
                                                            language=value.language)))


def _owl_and_shapes(interface: Element, model: ModelSet, out: list[Quad]) -> None:
    iri = _n(interface.id)
    out.append(Quad(iri, _n(RDF + "type"), _n(OWL + "Class")))
    out.append(Quad(iri, _n(RDF + "type"), _n(SH + "NodeShape")))
    _label(interface, iri, RDFS + "label", "displayName", out)
    _label(interface, iri, RDFS + "comment", "description", out)
    for parent in interface.many("extends"):
        parent_id = parent.id if isinstance(parent, Element) else parent.iri
        out.append(Quad(iri, _n(RDFS + "subClassOf"), _n(parent_id)))
        if isinstance(parent, Element) and parent.parent is not None:
            _owl_and_shapes(parent, model, out)
    units = qudt_table()
    for content in interface.many("contents"):
        if not isinstance(content, Element):
            content = model.elements.get(getattr(content, "iri", ""))
            if content is None:
                continue
        prop = _n(content.id)
        _label(content, prop, RDFS + "label", "displayName", out)
        _label(content, prop, RDFS + "comment", "description", out)
        for cotype in content.cotypes:
            kind = units["quantityKinds"].get(cotype)
            if kind:
                out.append(Quad(prop, _n(QUDT + "hasQuantityKind"),
                                _n(f"http://qudt.org/vocab/quantitykind/{kind}")))
        unit = units["units"].get(content.extra.get("unit", ""))
        if unit:
            out.append(Quad(prop, _n(QUDT + "hasUnit"), _n(f"http://qudt.org/vocab/unit/{unit}")))
        shape = _n(f"{content.id.split(';')[0]}:_shape;{content.id.split(';')[1]}"
                   if ";" in content.id else content.id + ":_shape")
        if content.cls == "Property":
            out.append(Quad(prop, _n(RDF + "type"), _n(OWL + "DatatypeProperty")))
            out.append(Quad(prop, _n(RDFS + "domain"), iri))
            constraint = _schema_constraint(content.one("schema"), model)
            out.append(Quad(iri, _n(SH + "property"), shape))
            out.append(Quad(shape, _n(SH + "path"), prop))
            out.append(Quad(shape, _n(SH + "maxCount"), Literal(1)))
            for predicate, obj in constraint:
                if predicate == RDFS + "range":
                    out.append(Quad(prop, _n(predicate), obj))
                elif isinstance(obj, list):
                    out.append(Quad(shape, _n(predicate), _rdf_list(obj, out)))
                else:
                    out.append(Quad(shape, _n(predicate), obj))
        elif content.cls == "Relationship":
            out.append(Quad(prop, _n(RDF + "type"), _n(OWL + "ObjectProperty")))
            out.append(Quad(prop, _n(RDFS + "domain"), iri))
            out.append(Quad(iri, _n(SH + "property"), shape))
            out.append(Quad(shape, _n(SH + "path"), prop))
            out.append(Quad(shape, _n(SH + "nodeKind"), _n(SH + "IRI")))
            target = content.one("target")
            if target is not None:
                target_iri = target.id if isinstance(target, Element) else target.iri
                out.append(Quad(prop, _n(RDFS + "range"), _n(target_iri)))
                out.append(Quad(shape, _n(SH + "class"), _n(target_iri)))
            high = content.one("maxMultiplicity")
            if isinstance(high, int):
                out.append(Quad(shape, _n(SH + "maxCount"), Literal(high)))
        elif content.cls == "Component":
            out.append(Quad(prop, _n(RDF + "type"), _n(OWL + "DatatypeProperty")))
            out.append(Quad(prop, _n(RDFS + "domain"), iri))
            out.append(Quad(prop, _n(RDFS + "range"), _n(RDF_JSON)))
            out.append(Quad(iri, _n(SH + "property"), shape))
            out.append(Quad(shape, _n(SH + "path"), prop))
            out.append(Quad(shape, _n(SH + "maxCount"), Literal(1)))
            out.append(Quad(shape, _n(SH + "datatype"), _n(RDF_JSON)))


def _rdf_list(items: list[Any], out: list[Quad]) -> Any:
    head: Any = _n(RDF + "nil")
    for item in reversed(items):
        node = BlankNode()
        out.append(Quad(node, _n(RDF + "first"), item))
        out.append(Quad(node, _n(RDF + "rest"), head))
        head = node
    return head


def _schema_constraint(schema: Any, model: ModelSet) -> list[tuple[str, Any]]:
    if isinstance(schema, Ref):
        datatype = primitive_datatype(schema.iri)
        if datatype:
            return [(SH + "datatype", _n(datatype)), (RDFS + "range", _n(datatype))]
        schema = model.elements.get(schema.iri)
    if isinstance(schema, Element) and schema.cls == "Enum":
        values = []
        for v in schema.many("enumValues"):
            if isinstance(v, Element) and v.one("enumValue") is not None:
                values.append(v.one("enumValue"))
        value_schema = schema.one("valueSchema")
        datatype = primitive_datatype(value_schema.iri) if isinstance(value_schema, Ref) \
            else None
        # Sorted: DTDL's enumValues are a set, and the same enum gives the same list.
        values.sort(key=lambda v: (isinstance(v, str), v))
        out: list[tuple[str, Any]] = [(SH + "in", [Literal(v) for v in values])]
        if datatype:
            out.append((RDFS + "range", _n(datatype)))
        return out
    return [(SH + "datatype", _n(RDF_JSON)), (RDFS + "range", _n(RDF_JSON))]
