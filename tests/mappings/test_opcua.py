"""OPC UA NodeSet2: node and reference counts against the XML, namespaces by URI, the
NodeSet2 round trip, units, hostile XML."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests.conftest import shared_data

from semtwin.mappings import MappingError, SourceFile
from semtwin.mappings.opcua import (
    NODE_CLASSES,
    UA_NS,
    nodeset_to_rdf,
    parse_nodeset,
    unece_code,
    vocab,
)
from semtwin.mappings.opcua.export import nodeset_xml

FILES = ["Schema/Opc.Ua.NodeSet2.xml", "DI/Opc.Ua.Di.NodeSet2.xml",
         "Machinery/Opc.Ua.Machinery.NodeSet2.xml",
         "Machinery/Opc.Ua.Machinery.Examples.NodeSet2.xml",
         "Robotics/Opc.Ua.Robotics.NodeSet2.xml", "PackML/Opc.Ua.PackML.NodeSet2.xml",
         "IA/Opc.Ua.IA.NodeSet2.xml", "IA/Opc.Ua.IA.NodeSet2.examples.xml"]


def _source(name: str) -> SourceFile:
    path = shared_data("opcua", *name.split("/"))
    return SourceFile(name, path.read_bytes())


def _xml_counts(path: Path) -> tuple[int, int]:
    """Nodes and distinct references as the XML states them (an inverse reference is the
    forward one from the other end), counted straight from the file."""
    root = ET.parse(path).getroot()
    uris = ["http://opcfoundation.org/UA/"] + [u.text or "" for u in root.iter(f"{{{UA_NS}}}Uri")]
    aliases = {a.get("Alias"): (a.text or "").strip() for a in root.iter(f"{{{UA_NS}}}Alias")}

    def absolute(node_id: str) -> str:
        node_id = aliases.get(node_id.strip(), node_id.strip())
        if node_id.startswith("ns="):
            index, _, rest = node_id.partition(";")
            return f"{uris[int(index[3:])]}|{rest}"
        return f"{uris[0]}|{node_id}"

    nodes = [e for e in root if e.tag.split("}")[-1] in NODE_CLASSES]
    references = set()
    for node in nodes:
        me = absolute(node.get("NodeId", ""))
        for ref in node.iter(f"{{{UA_NS}}}Reference"):
            other = absolute(ref.text or "")
            kind = absolute(ref.get("ReferenceType", ""))
            forward = ref.get("IsForward", "true").lower() != "false"
            references.add((me, kind, other) if forward else (other, kind, me))
    return len(nodes), len(references)


@pytest.mark.parametrize("name", FILES)
def test_node_and_reference_counts_match_the_xml(name: str) -> None:
    nodeset = parse_nodeset(_source(name))
    quads, counts = nodeset_to_rdf(nodeset)
    nodes, references = _xml_counts(shared_data("opcua", *name.split("/")))
    typed = {q.subject for q in quads if q.predicate.value.endswith("#type")
             and q.object.value.startswith(vocab("").value)
             and q.object.value[len(vocab("").value):] in NODE_CLASSES}
    assert len(typed) == nodes == counts["nodes"]
    assert counts["references"] == references
    # IRIs carry namespace URIs, never file-local indexes
    assert not any("ns=" in q.subject.value for q in quads)


@pytest.mark.parametrize("name", ["Machinery/Opc.Ua.Machinery.Examples.NodeSet2.xml",
                                  "DI/Opc.Ua.Di.NodeSet2.xml", "Schema/Opc.Ua.NodeSet2.xml"])
def test_export_then_reimport_gives_the_same_graph(name: str) -> None:
    nodeset = parse_nodeset(_source(name))
    quads, counts = nodeset_to_rdf(nodeset)
    xml = nodeset_xml(quads, {"namespaces": nodeset.namespaces, "models": nodeset.models})
    again = parse_nodeset(SourceFile("export.xml", xml))
    quads_again, counts_again = nodeset_to_rdf(again)
    assert counts_again == counts
    assert set(quads_again) == set(quads)
    assert again.model_uri == nodeset.model_uri


def test_types_are_classes_and_instances_are_typed() -> None:
    quads, _ = nodeset_to_rdf(parse_nodeset(_source("Machinery/Opc.Ua.Machinery.NodeSet2.xml")))
    triples = {(q.subject.value, q.predicate.value, q.object.value) for q in quads}
    machine_identification = "http://opcfoundation.org/UA/Machinery/i=1012"
    assert (machine_identification, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
            "http://www.w3.org/2002/07/owl#Class") in triples
    supers = {o for s, p, o in triples if s == machine_identification
              and p.endswith("#subClassOf")}
    assert supers  # HasSubtype from a DI interface type
    browse = {o for s, p, o in triples if s == machine_identification
              and p == vocab("browseName").value}
    assert len(browse) == 1


def test_engineering_units_become_unece_codes_and_qudt_units() -> None:
    quads, _ = nodeset_to_rdf(parse_nodeset(_source("IA/Opc.Ua.IA.NodeSet2.examples.xml")))
    codes = {q.object.value for q in quads if q.predicate.value.endswith("uneceCommonCode")}
    units = {q.object.value for q in quads if q.predicate.value.endswith("qudt/hasUnit")}
    assert "MTR" in codes
    assert "http://qudt.org/vocab/unit/M" in units


def test_engineering_units_decode_to_unece_codes() -> None:
    path = shared_data("opcua", "Schema", "UNECE_to_OPCUA.csv")
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 1000
    assert all(unece_code(int(r["UnitId"])) == r["UNECECode"] for r in rows)


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
    b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><UANodeSet>&lol2;</UANodeSet>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<UANodeSet>&e;</UANodeSet>',
    b"<UANodeSet><unclosed></UANodeSet>",
    b'<Other xmlns="urn:x"/>',
])
def test_hostile_or_malformed_xml_is_refused(payload: bytes) -> None:
    with pytest.raises(MappingError) as caught:
        parse_nodeset(SourceFile("bad.xml", payload))
    assert caught.value.problems[0].file == "bad.xml"


def test_undeclared_namespace_index_is_named() -> None:
    xml = (f'<UANodeSet xmlns="{UA_NS}"><UAObject NodeId="ns=4;i=1" BrowseName="1:X">'
           "<DisplayName>X</DisplayName></UAObject></UANodeSet>").encode()
    with pytest.raises(MappingError) as caught:
        nodeset_to_rdf(parse_nodeset(SourceFile("ns.xml", xml)))
    assert "namespace index 4" in caught.value.problems[0].message
    assert "UAObject" in caught.value.problems[0].where
