"""AAS V3.0: our RDF from every official JSON example is the official RDF; the faithful
round trip gives the same environment back (order included); XML and AASX through BaSyx;
real files conform to the official SHACL shapes; bad input is refused with where and why."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import rdflib
from rdflib.compare import isomorphic
from tests.conftest import shared_data

from semtwin.mappings import MappingError, SourceFile
from semtwin.mappings.aas import environment_to_rdf, rdf_to_environment, read_environment
from semtwin.rdf import Quad

BASE = "http://aas.example/"
XS_STRING = rdflib.URIRef("http://www.w3.org/2001/XMLSchema#string")


def _graph(quads: list[Quad]) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data="\n".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads),
                format="nt")
    return graph


def _official(path: Path) -> rdflib.Graph:
    """The official Turtle, its relative ids resolved against BASE; "x"^^xsd:string is the
    same literal as "x" in RDF 1.1 (rdflib keeps them apart)."""
    raw = rdflib.Graph()
    raw.parse(path, publicID=BASE)
    graph = rdflib.Graph()
    for s, p, o in raw:
        if isinstance(o, rdflib.Literal) and o.datatype == XS_STRING:
            o = rdflib.Literal(str(o))
        graph.add((s, p, o))
    return graph


def _examples() -> list[Path]:
    return sorted(shared_data("aas", "spec-v3.0", "examples", "json").rglob("*.json"))


def test_every_official_json_example_maps_to_the_official_rdf() -> None:
    root = shared_data("aas", "spec-v3.0", "examples")
    checked = 0
    for path in _examples():
        relative = path.relative_to(root / "json").with_suffix(".ttl")
        ttl = root / "rdf" / relative
        assert ttl.exists(), relative
        environment = read_environment(SourceFile(str(path), path.read_bytes()))
        ours = _graph(environment_to_rdf(environment, base=BASE, faithful=False))
        assert isomorphic(ours, _official(ttl)), relative
        checked += 1
    assert checked > 2000


def _canonical(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def test_faithful_round_trip_gives_the_same_environment_back() -> None:
    for path in _examples():
        environment = json.loads(path.read_text(encoding="utf-8-sig"))
        back = rdf_to_environment(environment_to_rdf(environment, base=BASE), base=BASE)
        for key in environment:
            environment[key] = sorted(environment[key], key=lambda i: str(i.get("id", "")))
        assert _canonical(back) == _canonical(environment), path


def test_order_of_keys_and_list_elements_survives() -> None:
    path = shared_data("aas", "templates", "IDTA_02006-3-0-1_Template_Digital_Nameplate.json")
    environment = read_environment(SourceFile(path.name, path.read_bytes()))
    back = rdf_to_environment(environment_to_rdf(environment))
    submodel = next(s for s in back["submodels"])
    original = next(s for s in environment["submodels"] if s["id"] == submodel["id"])
    assert [e["idShort"] for e in submodel["submodelElements"]] == \
        [e["idShort"] for e in original["submodelElements"]]
    keys = submodel["semanticId"]["keys"]
    assert keys == original["semanticId"]["keys"]


def _basyx_json(environment: dict[str, Any]) -> dict[str, Any]:
    """An environment read and written again by BaSyx: the comparison the spec tools use."""
    from basyx.aas.adapter.json import read_aas_json_file, write_aas_json_file

    store = read_aas_json_file(io.StringIO(json.dumps(environment)), failsafe=False)
    out = io.StringIO()
    write_aas_json_file(out, store)
    result: dict[str, Any] = _canonical(json.loads(out.getvalue()))
    for key in result:
        result[key] = sorted(result[key], key=lambda i: str(i.get("id", "")))
    return _sort_sets(result)  # type: ignore[no-any-return]


def _sorted_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_sorted_lists(v) for v in value),
                      key=lambda x: json.dumps(x, sort_keys=True))
    return value


def _sort_sets(value: Any) -> Any:
    """BaSyx keeps value reference pairs in a set: their order is its own."""
    if isinstance(value, dict):
        return {k: sorted(map(_sort_sets, v), key=lambda x: json.dumps(x, sort_keys=True))
                if k == "valueReferencePairs" else _sort_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sort_sets(v) for v in value]
    return value


@pytest.mark.parametrize("name", ["IDTA_02006-3-0-1_Template_Digital_Nameplate.json",
                                  "IDTA_02002-1-0-1_Template_ContactInformation.json",
                                  "IDTA_02035-4_DBP-Part-4_TechnicalData.json",
                                  "IDTA_02047-1-0-1_Template_TechnicalDataForAGV.json"])
def test_idta_templates_round_trip(name: str) -> None:
    """Compared as JSON, member by member: BaSyx cannot read two of these real templates
    (they break AASd-120 and the 64-character name limit), so it cannot be the judge."""
    path = shared_data("aas", "templates", name)
    environment = read_environment(SourceFile(name, path.read_bytes()))
    back = rdf_to_environment(environment_to_rdf(environment))
    for key in environment:
        environment[key] = sorted(environment[key], key=lambda i: str(i.get("id", "")))
    assert _canonical(back) == _canonical(environment)


def test_basyx_full_example_in_xml_and_json() -> None:
    xml = shared_data("aas", "basyx", "test_demo_full_example.xml")
    from_xml = read_environment(SourceFile(xml.name, xml.read_bytes()))
    assert {k: len(v) for k, v in from_xml.items()} == {
        "assetAdministrationShells": 4, "submodels": 7, "conceptDescriptions": 3}
    back = rdf_to_environment(environment_to_rdf(from_xml))
    assert _basyx_json(back) == _basyx_json(from_xml)
    js = shared_data("aas", "basyx", "test_demo_full_example.json")
    from_json = read_environment(SourceFile(js.name, js.read_bytes()))
    # the JSON file carries members of V3.0 drafts; they are reported, not mapped
    assert any("valueId" in d for d in from_json.pop("$dropped"))
    assert len(from_json["submodels"]) == 7


def test_semantic_ids_stay_resolvable() -> None:
    path = shared_data("aas", "templates", "IDTA_02006-3-0-1_Template_Digital_Nameplate.json")
    environment = read_environment(SourceFile(path.name, path.read_bytes()))
    quads = environment_to_rdf(environment)
    values = {q.object.value for q in quads if q.predicate.value.endswith("Key/value")}
    assert any(v.startswith("https://admin-shell.io/") for v in values)  # IRIs
    assert any("#" in v and v[:4].isdigit() for v in values)            # IRDIs, as literals
    pairs = [(q.subject.value, q.object.value) for q in quads  # type: ignore[union-attr]
             if q.predicate.value.endswith("Identifiable/id")]
    assert pairs
    for subject, ident in pairs:
        if ident.startswith(("https://", "http://", "urn:")):
            assert subject == ident          # an IRI id is the subject IRI itself
        else:
            assert subject.startswith("urn:aas:")  # an IRDI id: resolved, kept as literal


def _violations(shapes: Any, quads: list[Quad], ontology: list[Quad]) -> set[tuple[str, str]]:
    from semtwin.shacl import MemoryGraph, Validator

    report = Validator(shapes, MemoryGraph([*quads, *ontology])).validate_all()
    return {(str(r.path), r.component.value.rsplit("#", 1)[-1]) for r in report.results}


def test_official_shapes_judge_ours_as_they_judge_the_official_rdf() -> None:
    """The official shapes ask for ``LangString*Type/text`` where the official ontology and
    examples use ``AbstractLangString/text`` (an upstream inconsistency): the official RDF
    of the examples fails those shapes exactly as ours does, and nothing else fails."""
    from semtwin.rdf import RdfFormat, parse_rdf
    from semtwin.shacl import MemoryGraph, ShapesGraph

    spec = shared_data("aas", "spec-v3.0")
    ontology = parse_rdf((spec / "rdf-ontology.ttl").read_bytes(), RdfFormat.TURTLE)
    shapes = ShapesGraph(MemoryGraph(parse_rdf((spec / "shacl-schema.ttl").read_bytes(),
                                               RdfFormat.TURTLE)))
    known = "MinCountConstraintComponent"
    for cls in ("Submodel", "Property", "AssetAdministrationShell", "ConceptDescription",
                "Entity", "Operation"):
        path = spec / "examples" / "json" / cls / "maximal.json"
        ours = environment_to_rdf(json.loads(path.read_text(encoding="utf-8-sig")),
                                  base=BASE, faithful=False)
        official = parse_rdf((spec / "examples" / "rdf" / cls / "maximal.ttl").read_bytes(),
                             RdfFormat.TURTLE, base_iri=BASE)
        found = _violations(shapes, ours, ontology)
        assert found == _violations(shapes, official, ontology), cls
        assert all(c == known and "LangString" in p for p, c in found), found
    for name in ("IDTA_02006-3-0-1_Template_Digital_Nameplate.json",
                 "IDTA_02047-1-0-1_Template_TechnicalDataForAGV.json"):
        path = shared_data("aas", "templates", name)
        environment = read_environment(SourceFile(name, path.read_bytes()))
        found = _violations(shapes, environment_to_rdf(environment, faithful=False), ontology)
        assert all(c == known and "LangString" in p for p, c in found), (name, found)


def test_official_sparql_shapes_judge_a_store_as_they_judge_memory() -> None:
    """The AAS 3.0 shapes' SHACL-SPARQL constraints (abstract classes are not instantiated)
    evaluated on the data read from a store (footprints, as writes read it) give the same
    report as on the data in memory, including a planted direct instance of an abstract
    class."""
    from semtwin.rdf import BlankNode, NamedNode, RdfFormat, parse_rdf
    from semtwin.shacl import MemoryGraph, ShapesGraph, Validator
    from semtwin.shacl.graph import StoreView
    from semtwin.store.embedded import EmbeddedStore

    spec = shared_data("aas", "spec-v3.0")
    ontology = parse_rdf((spec / "rdf-ontology.ttl").read_bytes(), RdfFormat.TURTLE)
    shapes = ShapesGraph(MemoryGraph(parse_rdf((spec / "shacl-schema.ttl").read_bytes(),
                                               RdfFormat.TURTLE)))
    assert not shapes.unbounded_sparql()
    path = spec / "examples" / "json" / "Submodel" / "maximal.json"
    data = environment_to_rdf(json.loads(path.read_text(encoding="utf-8-sig")), base=BASE,
                              faithful=False)
    aas = "https://admin-shell.io/aas/3/0/"
    planted = Quad(NamedNode("urn:ex:abstract"), NamedNode(
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), NamedNode(aas + "DataElement"))
    quads = [*data, *ontology, planted]

    def keys(view: Any) -> list[tuple[str, str, str]]:
        """The results, blank nodes shown as ``_:`` (a store names them its own way)."""
        report = Validator(shapes, view).validate_all()
        assert not report.unsupported
        return sorted(("_:" if isinstance(r.focus, BlankNode) else str(r.focus), str(r.path),
                       r.component.value.rsplit("#", 1)[-1]) for r in report.results)

    store = EmbeddedStore(None)
    store.add_quads([Quad(q.subject, q.predicate, q.object) for q in quads])
    in_memory = keys(MemoryGraph(quads))
    assert in_memory == keys(StoreView(store))
    assert ("<urn:ex:abstract>", "None", "SPARQLConstraintComponent") in in_memory


@pytest.mark.parametrize(("payload", "where", "message"), [
    (b'{"submodels": [{"id": 3, "modelType": "Submodel"}]}', "/submodels/0/id", "id"),
    (b'{"submodels": [{"id": "x", "modelType": "Submodel", "foo": 1}]}', "/submodels/0/foo",
     "not an attribute"),
    (b'{"submodels": [{"id": "x", "modelType": "Blob"}]}', "/submodels/0/modelType",
     "not a kind of Submodel"),
    (b'{"submodels": [{"id": "x", "modelType": "Submodel", "kind": "Sometimes"}]}',
     "/submodels/0/kind", "ModellingKind"),
    (b'{"submodels": [', "line 1", "not JSON"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
     "", "DTD"),
])
def test_bad_input_says_where_and_why(payload: bytes, where: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        read_environment(SourceFile("bad.json", payload))
    problem = caught.value.problems[0]
    assert problem.file == "bad.json"
    assert problem.where.startswith(where), problem
    assert message in problem.message


def test_aasx_package_is_read(tmp_path: Path) -> None:
    """An AASX written by BaSyx from the full example reads back to the same environment as
    the XML it came from."""
    from basyx.aas import model
    from basyx.aas.adapter import aasx
    from basyx.aas.adapter.xml import read_aas_xml_file  # type: ignore[attr-defined]

    xml = shared_data("aas", "basyx", "test_demo_full_example.xml")
    store = read_aas_xml_file(io.BytesIO(xml.read_bytes()), failsafe=False)
    package = tmp_path / "example.aasx"
    files = aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]
    # the example's File element points at /TestFile.pdf: the package carries it
    files.add_file("/TestFile.pdf", io.BytesIO(b"%PDF-1.4 test"), "application/pdf")
    with aasx.AASXWriter(str(package)) as writer:
        shells = [s.id for s in store if isinstance(s, model.AssetAdministrationShell)]
        writer.write_aas(shells, store, files)
    from_aasx = read_environment(SourceFile(package.name, package.read_bytes()))
    from_xml = read_environment(SourceFile(xml.name, xml.read_bytes()))
    assert len(from_aasx["assetAdministrationShells"]) == 4
    # BaSyx keeps several members in sets (their order follows string hashing, which varies
    # between processes): compare with every list sorted
    assert _sorted_lists(_basyx_json(from_aasx)["assetAdministrationShells"]) == \
        _sorted_lists(_basyx_json(from_xml)["assetAdministrationShells"])
    assert _graph(environment_to_rdf(from_aasx, faithful=False))


def test_an_aasx_that_is_not_a_package_is_refused() -> None:
    with pytest.raises(MappingError, match="not an AASX package"):
        read_environment(SourceFile("shell.aasx", b"PK\x03\x04 not really a zip"))
