"""RDF back to NodeSet2 XML, for nodes imported by ``nodeset_to_rdf``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from semtwin.mappings.opcua import (
    _ATTRIBUTES,
    NODE_CLASSES,
    OWL,
    QUDT,
    RDF,
    RDFS,
    UA_NS,
    split_iri,
    tables,
)
from semtwin.rdf import Literal, NamedNode, Quad

_NOT_REFERENCES = (RDF, RDFS, OWL, QUDT)


def nodeset_xml(quads: Iterable[Quad], header: dict[str, Any]) -> bytes:
    """A NodeSet2 document for the nodes among ``quads``; ``header`` holds the source's
    ``namespaces`` (in order) and ``models``."""
    voc = tables()["vocabulary"]
    namespaces: list[str] = header["namespaces"]
    by_subject: dict[str, list[Quad]] = defaultdict(list)
    node_class: dict[str, str] = {}
    for q in quads:
        by_subject[q.subject.value].append(q)
        if q.predicate.value == RDF + "type" and q.object.value.startswith(voc):
            name = q.object.value[len(voc):]
            if name in NODE_CLASSES:
                node_class[q.subject.value] = name
    inverse: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for subject, statements in by_subject.items():
        if subject in node_class:
            continue
        for q in statements:
            if _is_reference(q, voc) and q.object.value in node_class:
                inverse[q.object.value].append((q.predicate.value, subject))

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
        values = {q.predicate.value[len(voc):]: q.object for q in statements
                  if q.predicate.value.startswith(voc)}
        attrs = {"NodeId": node_id(subject)}
        browse_ns = values.get("browseNamespace")
        index = namespaces.index(browse_ns.value) if browse_ns is not None else 0
        attrs["BrowseName"] = (f"{index}:" if index else "") + values["browseName"].value
        for attr in _ATTRIBUTES:
            key = attr[0].lower() + attr[1:]
            if key in values:
                attrs[attr] = values[key].value
        for attr in ("DataType", "ParentNodeId"):
            key = attr[0].lower() + attr[1:]
            if key in values:
                attrs[attr] = node_id(values[key].value)
        element = ET.SubElement(root, f"{{{UA_NS}}}{node_class[subject]}", attrs)
        for tag in ("DisplayName", "Description", "InverseName"):
            for q in statements:
                if q.predicate.value == voc + tag[0].lower() + tag[1:]:
                    child = ET.SubElement(element, f"{{{UA_NS}}}{tag}")
                    assert isinstance(q.object, Literal)
                    child.text = q.object.value
                    if q.object.language:
                        child.set("Locale", q.object.language)
        for tag in ("Category", "Documentation", "Extensions", "RolePermissions", "Definition"):
            for text in sorted(q.object.value for q in statements
                               if q.predicate.value == f"{voc}xml{tag}"):
                element.append(ET.fromstring(text))
        refs = ET.SubElement(element, f"{{{UA_NS}}}References")
        forward = sorted((q.predicate.value, q.object.value) for q in statements
                         if _is_reference(q, voc))
        for ref_type, target in forward:
            ET.SubElement(refs, f"{{{UA_NS}}}Reference",
                          {"ReferenceType": node_id(ref_type)}).text = node_id(target)
        for ref_type, source in sorted(inverse.get(subject, [])):
            ET.SubElement(refs, f"{{{UA_NS}}}Reference",
                          {"ReferenceType": node_id(ref_type), "IsForward": "false"}
                          ).text = node_id(source)
        if "valueXml" in values:
            holder = ET.fromstring(f"<Value xmlns='{UA_NS}'>{values['valueXml'].value}</Value>")
            element.append(holder)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                      xml_declaration=False)


def _attrs(raw: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in raw.items() if k != "required" and v is not None}


def _is_reference(q: Quad, voc: str) -> bool:
    predicate = q.predicate.value
    return isinstance(q.object, NamedNode) and not predicate.startswith(voc) and \
        not predicate.startswith(_NOT_REFERENCES) and not predicate.startswith(
            "https://semtwin.dev/") and not predicate.startswith("http://www.w3.org/ns/prov#") \
        and not predicate.startswith("http://purl.org/dc/terms/")


def header_json(namespaces: list[str], models: list[dict[str, Any]]) -> str:
    return json.dumps({"namespaces": namespaces, "models": models}, sort_keys=True)
