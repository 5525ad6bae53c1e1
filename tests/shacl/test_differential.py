"""Differential tests against pyshacl (on an rdflib Graph) on seeded generated data and
shapes: the same conformance and the same set of (focus node, path, shape, component)."""

from __future__ import annotations

import pytest

pyshacl = pytest.importorskip("pyshacl")
rdflib = pytest.importorskip("rdflib")

from tests.shacl.generated import SHAPES, data_turtle  # noqa: E402

from semtwin.rdf import BlankNode, Quad, RdfFormat, parse  # noqa: E402
from semtwin.shacl import MemoryGraph, ShapesGraph, Validator  # noqa: E402
from semtwin.shacl.graph import GraphView, StoreView  # noqa: E402
from semtwin.store.embedded import EmbeddedStore  # noqa: E402

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def _key_part(term: object, shapes: object) -> str:
    if isinstance(term, rdflib.BNode | BlankNode):
        return "_:"
    if term is None:
        return "-"
    return str(term.value if hasattr(term, "value") else term)


def semtwin_keys(data: str, shapes: str, on_store: bool = False
                 ) -> tuple[bool, set[tuple[str, ...]]]:
    """``on_store``: the data read from a real (in-memory) store, as writes and
    ``validate --store`` read it (SHACL-SPARQL through footprints)."""
    memory = MemoryGraph(parse(data.encode(), format=RdfFormat.TURTLE))
    view: GraphView = memory
    if on_store:
        store = EmbeddedStore(None)
        store.add_quads([Quad(t.subject, t.predicate, t.object) for t in memory.triples()])
        view = StoreView(store)
    shapes_graph = ShapesGraph(MemoryGraph(parse(shapes.encode(), format=RdfFormat.TURTLE)))
    report = Validator(shapes_graph, view).validate_all()
    keys = set()
    for r in report.results:
        path = r.path_node if not isinstance(r.path_node, BlankNode) else None
        keys.add((_key_part(r.focus, None), _key_part(path, None),
                  _key_part(r.shape, None), r.component.value))
    return report.conforms, keys


def pyshacl_keys(data: str, shapes: str) -> tuple[bool, set[tuple[str, ...]]]:
    data_graph = rdflib.Graph().parse(data=data, format="turtle")
    shapes_graph = rdflib.Graph().parse(data=shapes, format="turtle")
    conforms, results, _ = pyshacl.validate(data_graph, shacl_graph=shapes_graph,
                                            inference="none", advanced=False)
    keys = set()
    for r in results.objects(None, SH.result):
        path = results.value(r, SH.resultPath)
        keys.add((_key_part(results.value(r, SH.focusNode), None),
                  _key_part(path if not isinstance(path, rdflib.BNode) else None, None),
                  _key_part(results.value(r, SH.sourceShape), None),
                  str(results.value(r, SH.sourceConstraintComponent))))
    return bool(conforms), keys


@pytest.mark.parametrize("seed", range(6))
def test_same_results_as_pyshacl(seed: int) -> None:
    data = data_turtle(seed, 120)
    ours = semtwin_keys(data, SHAPES)
    theirs = pyshacl_keys(data, SHAPES)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1], (sorted(ours[1] - theirs[1])[:5], sorted(theirs[1] - ours[1])[:5])
    assert len(ours[1]) > 10, "generated data must exercise the shapes"


def _brick_sparql_shapes() -> tuple[str, str, str]:
    """Brick 1.4's own SHACL-SPARQL shapes (deprecated classes, timeseries references only on
    points, virtual meters only on meters) with their prefix declarations, and the ontology."""
    from pathlib import Path

    import brickschema

    text = (Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl").read_text()
    ontology = rdflib.Graph().parse(data=text, format="turtle")
    shapes = rdflib.Graph()
    pending = [s for s in ontology.subjects(SH.sparql, None)]
    pending += [rdflib.URIRef("https://brickschema.org/schema/1.4/Brick")]
    seen: set[object] = set()
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in ontology.predicate_objects(node):
            if p in (SH.sparql, SH.select, SH.message, SH.prefixes, SH.severity,
                     SH.targetClass, SH.declare, SH.prefix, SH.namespace, SH.targetSubjectsOf,
                     rdflib.RDF.type):
                shapes.add((node, p, o))
                if isinstance(o, rdflib.BNode):
                    pending.append(o)
    brick = rdflib.Namespace("https://brickschema.org/schema/Brick#")
    deprecated = next(c for c in ontology.subjects(rdflib.OWL.deprecated, rdflib.Literal(True))
                      if (c, brick.isReplacedBy, None) in ontology)
    return shapes.serialize(format="turtle"), text, str(deprecated)


def test_brick_sparql_constraints_same_as_pyshacl() -> None:
    shapes, ontology, deprecated = _brick_sparql_shapes()
    assert shapes.count("sh:select") == 3
    data = ontology + """
@prefix brick: <https://brickschema.org/schema/Brick#> .
@prefix ref: <https://brickschema.org/schema/Brick/ref#> .
@prefix ex: <urn:ex:> .
ex:meter a brick:Electrical_Meter ; brick:isVirtualMeter [ brick:value true ] .
ex:ahu a brick:AHU ; brick:isVirtualMeter [ brick:value true ] .
ex:sensor a brick:Temperature_Sensor ;
  ref:hasExternalReference [ a ref:TimeseriesReference ; ref:hasTimeseriesId "t1" ] .
ex:vav a brick:VAV ;
  ref:hasExternalReference [ a ref:TimeseriesReference ; ref:hasTimeseriesId "t2" ] .
"""
    data += f"ex:old a <{deprecated}> .\n"
    ours = semtwin_keys(data, shapes)
    theirs = pyshacl_keys(data, shapes)
    assert ours == theirs
    assert semtwin_keys(data, shapes, on_store=True) == ours
    focus = {key[0] for key in ours[1]}
    assert {"urn:ex:ahu", "urn:ex:vav", "urn:ex:old"} <= focus
    assert not {"urn:ex:meter", "urn:ex:sensor"} & focus
