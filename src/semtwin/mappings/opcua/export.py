"""RDF back to NodeSet2 XML, for nodes imported by ``nodeset_to_rdf``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from semtwin.mappings.opcua import (
    _ATTRIBUTES,
    _TEXTS,
    NODE_CLASSES,
    OWL,
    QUDT,
    RDF,
    RDFS,
    UA_NS,
    split_iri,
    tables,
)
from semtwin.rdf import Literal, NamedNode, Quad, term_value

_NOT_REFERENCES = (RDF, RDFS, OWL, QUDT)


def nodeset_xml(quads: Iterable[Quad], header: dict[str, Any]) -> bytes:
    """A NodeSet2 document for the nodes among ``quads``; ``header`` holds the source's
    ``namespaces`` (in order) and ``models``."""
    voc = tables()["vocabulary"]
    namespaces: list[str] = header["namespaces"]
    by_subject: dict[str, list[Quad]] = defaultdict(list)
    node_class: dict[str, str] = {}
    for q in quads:
        by_subject[term_value(q.subject)].append(q)
        if term_value(q.predicate) == RDF + "type" and term_value(q.object).startswith(voc):
            name = term_value(q.object)[len(voc):]
            if name in NODE_CLASSES:
                node_class[term_value(q.subject)] = name
    inverse: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for subject, statements in by_subject.items():
        if subject in node_class:
            continue
        for q in statements:
            if _is_reference(q, voc) and term_value(q.object) in node_class:
                inverse[term_value(q.object)].append((term_value(q.predicate), subject))

    def node_id(iri: str) -> str:
        parts = split_iri(iri, namespaces)
        if parts is None:
            raise ValueError(f"{iri} is in no namespace of this NodeSet")
        index = namespaces.index(parts[0])
        return parts[1] if index == 0 else f"ns={index};{parts[1]}"

    ET.register_namespace("", UA_NS)
    root = ET.Element(f"{{{UA_NS}}}UANodeSet")
    uris = ET.SubElement(root, f"{{{UA_NS}}}NamespaceUris")
    for uri in namespaces[1:]:
        ET.SubElement(uris, f"{{{UA_NS}}}Uri").text = uri
    models = ET.SubElement(root, f"{{{UA_NS}}}Models")
    for model in header["models"]:
        element = ET.SubElement(models, f"{{{UA_NS}}}Model", _attrs(model))
        for required in model.get("required", []):
            ET.SubElement(element, f"{{{UA_NS}}}RequiredModel", _attrs(required))
    for subject in sorted(node_class, key=lambda s: node_id(s)):
        statements = by_subject[subject]
        values = {term_value(q.predicate)[len(voc):]: q.object for q in statements
                  if term_value(q.predicate).startswith(voc)}
        attrs = {"NodeId": node_id(subject)}
        browse_ns = values.get("browseNamespace")
        index = namespaces.index(term_value(browse_ns)) if browse_ns is not None else 0
        attrs["BrowseName"] = (f"{index}:" if index else "") + term_value(values["browseName"])
        for attr in _ATTRIBUTES:
            key = attr[0].lower() + attr[1:]
            if key in values:
                attrs[attr] = term_value(values[key])
        for attr in ("DataType", "ParentNodeId"):
            key = attr[0].lower() + attr[1:]
            if key in values:
                attrs[attr] = node_id(term_value(values[key]))
        element = ET.SubElement(root, f"{{{UA_NS}}}{node_class[subject]}", attrs)
        for tag, predicate in _TEXTS.items():
            for q in statements:
                if term_value(q.predicate) == predicate:
                    child = ET.SubElement(element, f"{{{UA_NS}}}{tag}")
                    assert isinstance(q.object, Literal)
                    child.text = term_value(q.object)
                    if q.object.language:
                        child.set("Locale", q.object.language)
        for tag in ("Category", "Documentation", "Extensions", "RolePermissions", "Definition"):
            for text in sorted(term_value(q.object) for q in statements
                               if term_value(q.predicate) == f"{voc}xml{tag}"):
                element.append(ET.fromstring(text))
        refs = ET.SubElement(element, f"{{{UA_NS}}}References")
        forward = sorted((term_value(q.predicate), term_value(q.object)) for q in statements
                         if _is_reference(q, voc))
        for ref_type, target in forward:
            ET.SubElement(refs, f"{{{UA_NS}}}Reference",
                          {"ReferenceType": node_id(ref_type)}).text = node_id(target)
        for ref_type, source in sorted(inverse.get(subject, [])):
            ET.SubElement(refs, f"{{{UA_NS}}}Reference",
                          {"ReferenceType": node_id(ref_type), "IsForward": "false"}
                          ).text = node_id(source)
        if "valueXml" in values:
            fragment = term_value(values["valueXml"])
            holder = ET.fromstring(f"<Value xmlns='{UA_NS}'>{fragment}</Value>")
            element.append(holder)
    ET.indent(root, space="  ")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _attrs(raw: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in raw.items() if k != "required" and v is not None}


def _is_reference(q: Quad, voc: str) -> bool:
    predicate = term_value(q.predicate)
    return isinstance(q.object, NamedNode) and not predicate.startswith(voc) and \
        not predicate.startswith(_NOT_REFERENCES) and not predicate.startswith(
            "https://semtwin.dev/") and not predicate.startswith("http://www.w3.org/ns/prov#") \
        and not predicate.startswith("http://purl.org/dc/terms/")


def header_json(namespaces: list[str], models: list[dict[str, Any]]) -> str:
    return json.dumps({"namespaces": namespaces, "models": models}, sort_keys=True)
