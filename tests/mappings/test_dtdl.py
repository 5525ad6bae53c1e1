"""DTDL: the validator against the DTDLParser conformance cases, the RDF mapping, and the
round trip of the whole RealEstateCore ontology."""

from __future__ import annotations

import collections
import json
import re

import pytest
from tests.conftest import shared_data

from semtwin.mappings import MappingError, SourceFile
from semtwin.mappings.dtdl import interfaces_to_rdf, parse_interfaces, rdf_to_interfaces
from semtwin.mappings.dtdl.language import language
from semtwin.mappings.dtdl.parser import DtdlParser, ParseOptions
from semtwin.rdf import Quad


def _cases() -> list[tuple[str, int, dict[str, object]]]:
    folder = shared_data("dtdl", "parser-test-cases", "specification")
    out = []
    for path in sorted(folder.glob("*.json")):
        for index, case in enumerate(json.loads(path.read_text(encoding="utf-8-sig"))):
            out.append((path.stem, index, case))
    return out


def _accepts(case: dict[str, object]) -> bool:
    options = ParseOptions("AllowUndefinedExtensions" in case["options"])  # type: ignore[operator]
    files = [SourceFile(f"input{i}", json.dumps(doc).encode())
             for i, doc in enumerate(case["input"])]  # type: ignore[arg-type]
    return not DtdlParser(options).parse(files).problems


def test_agreement_with_the_dtdlparser_conformance_cases() -> None:
    """Target: at least 95% agreement on valid/invalid, per DTDL version. The remaining
    disagreements are printed by class (run with -s)."""
    agree: collections.Counter[tuple[int, bool]] = collections.Counter()
    by_class: collections.Counter[str] = collections.Counter()
    for name, _index, case in _cases():
        version = 3 if name.endswith("V3") else 2
        ok = _accepts(case) == case["valid"]
        agree[(version, ok)] += 1
        if not ok:
            by_class[re.sub(r"V\d$", "", name)] += 1
    for version in (2, 3):
        total = agree[(version, True)] + agree[(version, False)]
        assert total > 5000
        rate = agree[(version, True)] / total
        print(f"DTDL v{version}: {agree[(version, True)]}/{total} = {rate:.2%}")
        assert rate >= 0.95
    print("disagreements by class:", by_class.most_common(20))


@pytest.mark.parametrize(("dtmi", "valid"), [
    ("dtmi:com:example:Thermostat;1", True),
    ("dtmi:com:example:Thermostat;1.2", True),      # v3 minor versions
    ("dtmi:com:example:Thermostat", True),            # v3: version optional
    ("dtmi:com:example_:Thermostat;1", False),        # segment ends with _
    ("dtmi:com:1example:Thermostat;1", False),        # segment starts with a digit
    ("dtmi:com:example:Thermostat;01", False),        # leading zero
    ("dtmi:dtdl:example:Thermostat;1", False),        # reserved prefix
    ("dtmi:standard:example:Thermostat;1", False),    # reserved prefix
    ("http://example.com/Thermostat", False),
])
def test_interface_identifiers(dtmi: str, valid: bool) -> None:
    doc = {"@context": "dtmi:dtdl:context;3", "@id": dtmi, "@type": "Interface"}
    problems = DtdlParser().parse([SourceFile("x.json", json.dumps(doc).encode())]).problems
    assert (not problems) == valid, problems


def test_problems_name_the_file_and_the_json_pointer() -> None:
    doc = {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:A;1", "@type": "Interface",
           "contents": [{"@type": "Property", "name": "ok", "schema": "double"},
                        {"@type": "Property", "name": "9bad", "schema": "double"}]}
    with pytest.raises(MappingError) as caught:
        parse_interfaces([SourceFile("a.json", json.dumps(doc).encode())])
    problem = caught.value.problems[0]
    assert problem.file == "a.json"
    assert problem.where == "/contents/1/name"
    assert "9bad" in problem.message


def test_extends_cycles_and_unresolved_references_are_refused() -> None:
    a = {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:A;1", "@type": "Interface",
         "extends": "dtmi:ex:B;1"}
    b = {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:B;1", "@type": "Interface",
         "extends": "dtmi:ex:A;1"}
    with pytest.raises(MappingError, match="extends itself"):
        parse_interfaces([SourceFile("ab.json", json.dumps([a, b]).encode())])
    with pytest.raises(MappingError, match="dtmi:ex:B;1 is not defined"):
        parse_interfaces([SourceFile("a.json", json.dumps(a).encode())])


def _rec_files() -> list[SourceFile]:
    root = shared_data("dtdl", "realestatecore")
    return [SourceFile(str(p), p.read_bytes()) for p in sorted(root.rglob("*.json"))]


def _canonical(quads: list[Quad]) -> object:
    import rdflib
    from rdflib.compare import to_isomorphic

    graph = rdflib.Graph()
    graph.parse(data="\n".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads),
                format="nt")
    return to_isomorphic(graph)


def test_realestatecore_round_trip_is_isomorphic() -> None:
    files = _rec_files()
    model, quads = interfaces_to_rdf(files)
    assert len(model.roots) == 767
    exported = rdf_to_interfaces(quads)
    assert len(exported) == 767
    again, quads_again = interfaces_to_rdf([SourceFile("export.json",
                                                       json.dumps(exported).encode())])
    assert len(again.roots) == 767
    assert _canonical(quads) == _canonical(quads_again)


def test_interfaces_become_owl_classes_and_shacl_shapes() -> None:
    _model, quads = interfaces_to_rdf(_rec_files())
    triples = {(q.subject.value, q.predicate.value, q.object.value) for q in quads}
    room = "dtmi:digitaltwins:rec_3_3:core:Room;1"
    owl, rdfs, sh = ("http://www.w3.org/2002/07/owl#", "http://www.w3.org/2000/01/rdf-schema#",
                     "http://www.w3.org/ns/shacl#")
    assert (room, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", owl + "Class") in triples
    assert (room, rdfs + "subClassOf", "dtmi:digitaltwins:rec_3_3:core:Space;1") in triples
    assert (room, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", sh + "NodeShape") \
        in triples
    # every DTDL Property of Space has a property shape with a datatype and maxCount 1
    space_name = "dtmi:digitaltwins:rec_3_3:core:Space:_contents:__name;1"
    shapes = {s for s, p, o in triples if p == sh + "path" and o == space_name}
    assert len(shapes) == 1
    shape = shapes.pop()
    assert (shape, sh + "datatype", "http://www.w3.org/2001/XMLSchema#string") in triples
    # a relationship: object property with the target class
    is_part_of = {s for s, p, o in triples if p == "dtmi:dtdl:property:name;3"
                  and o == "isPartOf" and s.startswith("dtmi:digitaltwins:rec_3_3:core:Space:")}
    assert is_part_of


def test_semantic_types_and_units_map_to_qudt() -> None:
    doc = shared_data("dtdl", "samples", "Thermostat.json").read_bytes()
    _model, quads = interfaces_to_rdf([SourceFile("Thermostat.json", doc)])
    units = {q.object.value for q in quads if q.predicate.value.endswith("qudt/hasUnit")}
    kinds = {q.object.value for q in quads
             if q.predicate.value.endswith("qudt/hasQuantityKind")}
    assert "http://qudt.org/vocab/unit/DEG_C" in units
    assert "http://qudt.org/vocab/quantitykind/Temperature" in kinds


def test_language_tables_cover_both_versions() -> None:
    for version in (2, 3):
        lang = language(version)
        assert {"Interface", "Property", "Relationship", "Component", "Enum", "Object",
                "Map", "Array"} <= set(lang.classes)
        assert lang.constraints("Relationship")["maxMultiplicity"].min_inclusive == 1
