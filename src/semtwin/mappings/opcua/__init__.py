"""OPC UA NodeSet2 XML to RDF and back.

Every node gets an IRI from its namespace URI and identifier (never the file-local namespace
index). Types become classes (``HasSubtype`` as ``rdfs:subClassOf``; reference types become
properties with ``rdfs:subPropertyOf``), instances are typed by ``HasTypeDefinition``, every
reference is a triple whose predicate is the reference type's IRI (inverse references are
written from the other end), and each node keeps its NodeId, BrowseName (with its namespace
URI), DisplayName, Description and its node-class attributes. Variable values are kept as the
NodeSet's XML fragment (for a faithful export) and, for scalars of built-in types, as a typed
literal; EUInformation units carry their UNECE common code (QUDT's
``qudt:uneceCommonCode``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from semtwin.mappings import TABLES, MappingError, SourceFile, SourceProblem
from semtwin.rdf import Literal, NamedNode, Quad

UA_NS = "http://opcfoundation.org/UA/2011/03/UANodeSet.xsd"
UAX = "http://opcfoundation.org/UA/2008/02/Types.xsd"
CORE = "http://opcfoundation.org/UA/"
NODE_CLASSES = ("UAObject", "UAVariable", "UAMethod", "UAObjectType", "UAVariableType",
                "UADataType", "UAReferenceType", "UAView")
TYPE_CLASSES = {"UAObjectType", "UAVariableType", "UADataType"}
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
QUDT = "http://qudt.org/schema/qudt/"
# Attributes kept as literals, by XML attribute name.
_ATTRIBUTES = ("SymbolicName", "IsAbstract", "Symmetric", "ValueRank", "ArrayDimensions",
               "AccessLevel", "UserAccessLevel", "MinimumSamplingInterval", "Historizing",
               "EventNotifier", "Executable", "UserExecutable", "ContainsNoLoops",
               "ReleaseStatus", "AccessRestrictions", "WriteMask", "UserWriteMask",
               "MethodDeclarationId", "AccessLevelEx")
_CHILD_TEXT = ("Documentation",)
# DisplayName and Description are the node's label and comment.
_TEXTS = {"DisplayName": RDFS + "label", "Description": RDFS + "comment",
          "InverseName": "https://semtwin.dev/opcua#inverseName"}


@cache
def tables(root: Path = TABLES) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "opcua" / "opcua.json").read_text("utf-8"))
    return data


def vocab(name: str) -> NamedNode:
    return NamedNode(tables()["vocabulary"] + name)


def node_iri(namespace: str, identifier: str) -> str:
    sep = "" if namespace.endswith(("/", "#")) else "/"
    return f"{namespace}{sep}{quote(identifier, safe='=;:@$,')}"


def split_iri(iri: str, namespaces: list[str]) -> tuple[str, str] | None:
    """The (namespace URI, identifier) a node IRI was made from."""
    for ns in sorted(namespaces, key=len, reverse=True):
        sep = "" if ns.endswith(("/", "#")) else "/"
        if iri.startswith(ns + sep):
            return ns, unquote(iri[len(ns + sep):])
    return None


@dataclass
class NodeSet:
    """One parsed NodeSet2 file."""

    file: str
    namespaces: list[str]          # index -> URI (index 0 is the core namespace)
    models: list[dict[str, Any]]   # ModelUri, Version, PublicationDate, required
    aliases: dict[str, str]
    nodes: list[ET.Element] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return str(self.models[0]["ModelUri"]) if self.models else self.namespaces[-1]


def parse_nodeset(source: SourceFile) -> NodeSet:
    """Parse with defusedxml (no DTDs, no entity expansion, no external entities)."""
    def fail(where: str, message: str) -> MappingError:
        return MappingError([SourceProblem(source.name, where, message)])

    try:
        root = SafeET.fromstring(source.data, forbid_dtd=True)
    except DefusedXmlException as err:
        raise fail("", f"refused hostile XML: {type(err).__name__}") from None
    except ET.ParseError as err:
        line, column = err.position
        raise fail(f"line {line}, column {column}", f"not well-formed XML: {err}") from None
    if root.tag != f"{{{UA_NS}}}UANodeSet":
        raise fail("/*[1]", f"the root element is {root.tag}, not UANodeSet "
                   f"({UA_NS})")
    namespaces = [CORE] + [u.text or "" for u in root.findall(f"{{{UA_NS}}}NamespaceUris/"
                                                               f"{{{UA_NS}}}Uri")]
    models = []
    for model in root.findall(f"{{{UA_NS}}}Models/{{{UA_NS}}}Model"):
        models.append({
            "ModelUri": model.get("ModelUri"), "Version": model.get("Version"),
            "PublicationDate": model.get("PublicationDate"),
            "required": [{"ModelUri": r.get("ModelUri"), "Version": r.get("Version"),
                          "PublicationDate": r.get("PublicationDate")}
                         for r in model.findall(f"{{{UA_NS}}}RequiredModel")]})
    aliases = {a.get("Alias", ""): (a.text or "").strip()
               for a in root.findall(f"{{{UA_NS}}}Aliases/{{{UA_NS}}}Alias")}
    nodes = [child for child in root if child.tag.split("}")[-1] in NODE_CLASSES]
    return NodeSet(source.name, namespaces, models, aliases, nodes)


class _Resolver:
    def __init__(self, nodeset: NodeSet) -> None:
        self.nodeset = nodeset
        self._iris: dict[str, NamedNode] = {}

    def node_id(self, text: str, where: str) -> tuple[str, str]:
        """A NodeId (or alias) as (namespace URI, identifier)."""
        text = self.nodeset.aliases.get(text.strip(), text.strip())
        index = 0
        rest = text
        if text.startswith("ns="):
            head, _, rest = text.partition(";")
            try:
                index = int(head[3:])
            except ValueError:
                raise self.fail(where, f"bad NodeId {text!r}") from None
        elif text.startswith("nsu="):
            head, _, rest = text.partition(";")
            return head[4:], rest
        if index >= len(self.nodeset.namespaces) or rest[:2] not in ("i=", "s=", "g=", "b="):
            raise self.fail(where, f"NodeId {text!r} uses namespace index {index}, which the "
                            "file does not declare" if index >= len(self.nodeset.namespaces)
                            else f"bad NodeId {text!r}")
        return self.nodeset.namespaces[index], rest

    def iri(self, text: str, where: str) -> NamedNode:
        known = self._iris.get(text)
        if known is None:
            known = self._iris[text] = NamedNode(node_iri(*self.node_id(text, where)))
        return known

    def qualified(self, text: str) -> tuple[str, str]:
        head, sep, name = text.partition(":")
        if sep and head.isdigit() and int(head) < len(self.nodeset.namespaces):
            return self.nodeset.namespaces[int(head)], name
        return CORE, text

    def fail(self, where: str, message: str) -> MappingError:
        return MappingError([SourceProblem(self.nodeset.file, where, message)])


def _xpath(node: ET.Element, index: int) -> str:
    return f"/UANodeSet/{node.tag.split('}')[-1]}[@NodeId='{node.get('NodeId')}']" \
        if node.get("NodeId") else f"/UANodeSet/*[{index + 1}]"


def nodeset_to_rdf(nodeset: NodeSet) -> tuple[list[Quad], dict[str, int]]:
    """The nodes and references of one NodeSet as triples, with counts."""
    t = tables()
    res = _Resolver(nodeset)
    out: list[Quad] = []
    references: set[tuple[str, str, str]] = set()
    a = NamedNode(RDF + "type")
    has_subtype = NamedNode(node_iri(CORE, t["referenceTypes"]["HasSubtype"]))
    has_typedef = NamedNode(node_iri(CORE, t["referenceTypes"]["HasTypeDefinition"]))
    for index, node in enumerate(nodeset.nodes):
        cls = node.tag.split("}")[-1]
        where = _xpath(node, index)
        raw_id = node.get("NodeId")
        if not raw_id:
            raise res.fail(where, f"{cls} without NodeId")
        _ns, ident = res.node_id(raw_id, where)
        subject = res.iri(raw_id, where)
        out += [Quad(subject, a, vocab(cls)),
                Quad(subject, vocab("nodeId"), Literal(ident))]
        browse = node.get("BrowseName")
        if browse is None:
            raise res.fail(where, f"{cls} {raw_id} without BrowseName")
        browse_ns, browse_name = res.qualified(browse)
        out += [Quad(subject, vocab("browseName"), Literal(browse_name)),
                Quad(subject, vocab("browseNamespace"), NamedNode(browse_ns))]
        for attr in _ATTRIBUTES:
            if node.get(attr) is not None:
                out.append(Quad(subject, vocab(attr[0].lower() + attr[1:]),
                                Literal(node.get(attr, ""))))
        for attr in ("DataType", "ParentNodeId"):
            if node.get(attr):
                out.append(Quad(subject, vocab(attr[0].lower() + attr[1:]),
                                res.iri(node.get(attr, ""), f"{where}/@{attr}")))
        for child in node:
            tag = child.tag.split("}")[-1]
            if tag in _TEXTS:
                locale = child.get("Locale")
                text = child.text or ""
                literal = Literal(text, language=locale) if locale else Literal(text)
                out.append(Quad(subject, NamedNode(_TEXTS[tag]), literal))
            elif tag in _CHILD_TEXT or tag in ("RolePermissions", "Category", "Definition",
                                               "Extensions"):
                out.append(Quad(subject, vocab("xml" + tag), Literal(_inner(child, True))))
            elif tag == "Value":
                out.append(Quad(subject, vocab("valueXml"), Literal(_inner(child, False))))
                out.extend(_value_literals(subject, child))
        if cls in TYPE_CLASSES:
            out.append(Quad(subject, a, NamedNode(OWL + "Class")))
        elif cls == "UAReferenceType":
            out.append(Quad(subject, a, NamedNode(OWL + "ObjectProperty")))
        for ref_index, ref in enumerate(node.iter(f"{{{UA_NS}}}Reference")):
            at = f"{where}/References/Reference[{ref_index + 1}]"
            ref_type = res.iri(ref.get("ReferenceType", ""), f"{at}/@ReferenceType")
            target = res.iri(ref.text or "", at)
            forward = ref.get("IsForward", "true").lower() != "false"
            source, dest = (subject, target) if forward else (target, subject)
            key = (source.value, ref_type.value, dest.value)
            if key in references:
                continue
            references.add(key)
            out.append(Quad(source, ref_type, dest))
            if ref_type == has_subtype:
                prop = RDFS + ("subPropertyOf" if cls == "UAReferenceType" else "subClassOf")
                out.append(Quad(dest, NamedNode(prop), source))
            elif ref_type == has_typedef:
                out.append(Quad(source, a, dest))
    return out, {"nodes": len(nodeset.nodes), "references": len(references)}


def _inner(element: ET.Element, with_self: bool) -> str:
    """An XML fragment in a stable form: whitespace-only text between elements dropped."""
    def clean(e: ET.Element) -> ET.Element:
        copy = ET.Element(e.tag, dict(e.attrib))
        copy.text = e.text if e.text and e.text.strip() else None
        for child in e:
            cleaned = clean(child)
            cleaned.tail = child.tail if child.tail and child.tail.strip() else None
            copy.append(cleaned)
        return copy

    if with_self:
        return ET.tostring(clean(element), encoding="unicode")
    return "".join(ET.tostring(clean(child), encoding="unicode") for child in element)


def _value_literals(subject: NamedNode, value: ET.Element) -> list[Quad]:
    elements = tables()["valueElements"]
    out: list[Quad] = []
    for child in value:
        tag = child.tag.split("}")[-1]
        if tag in elements:
            kind = elements[tag]
            if kind == "langString":
                text = child.find(f"{{{UAX}}}Text")
                locale = child.find(f"{{{UAX}}}Locale")
                if text is not None and text.text is not None:
                    out.append(Quad(subject, vocab("value"), Literal(
                        text.text, language=locale.text if locale is not None and
                        locale.text else None) if locale is not None and locale.text
                        else Literal(text.text)))
            elif kind == "string" and tag in ("NodeId", "QualifiedName"):
                continue
            elif child.text is not None:
                out.append(Quad(subject, vocab("value"),
                                Literal(child.text.strip(),
                                        datatype=NamedNode(XSD + kind))))
        elif tag == "ExtensionObject":
            unit = child.find(f".//{{{UAX}}}EUInformation/{{{UAX}}}UnitId")
            if unit is not None and unit.text and unit.text.strip().lstrip("-").isdigit():
                code = unece_code(int(unit.text.strip()))
                if code:
                    out.append(Quad(subject, NamedNode(QUDT + "uneceCommonCode"),
                                    Literal(code)))
                    qudt = tables()["uneceToQudt"].get(code)
                    if qudt:
                        out.append(Quad(subject, NamedNode(QUDT + "hasUnit"),
                                        NamedNode(f"http://qudt.org/vocab/unit/{qudt}")))
    return out


def unece_code(unit_id: int) -> str | None:
    """The UNECE common code an EUInformation UnitId encodes (OPC UA Part 8: the code's
    ASCII bytes, big-endian, read as an integer)."""
    if unit_id <= 0 or unit_id >= 1 << 32:
        return None
    text = unit_id.to_bytes(4, "big").lstrip(b"\0").decode("ascii", errors="replace")
    return text if text.isalnum() else None
