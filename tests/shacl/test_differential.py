"""Differential tests against pyshacl (on an rdflib Graph) on seeded generated data and
shapes: the same conformance and the same set of (focus node, path, shape, component)."""

from __future__ import annotations

import pytest

pyshacl = pytest.importorskip("pyshacl")
rdflib = pytest.importorskip("rdflib")

from tests.shacl.generated import SHAPES, data_turtle  # noqa: E402

from semtwin.rdf import BlankNode, RdfFormat, parse  # noqa: E402
from semtwin.shacl import MemoryGraph, ShapesGraph, Validator  # noqa: E402

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def _key_part(term: object, shapes: object) -> str:
    if isinstance(term, rdflib.BNode | BlankNode):
        return "_:"
    if term is None:
        return "-"
    return str(term.value if hasattr(term, "value") else term)


def semtwin_keys(data: str, shapes: str) -> tuple[bool, set[tuple[str, ...]]]:
    view = MemoryGraph(parse(data.encode(), format=RdfFormat.TURTLE))
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
