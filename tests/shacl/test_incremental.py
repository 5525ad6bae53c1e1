"""Incremental validation is exact: after random changes to generated data, validating only
the focus nodes ``ChangeScope.affected`` names gives the same results as validating
everything, and no focus node outside that set changed its results."""

from __future__ import annotations

import random

import pytest
from tests.shacl.generated import EX, SHAPES, data_turtle

from semtwin.rdf import Literal, NamedNode, RdfFormat, Term, Triple, parse
from semtwin.shacl import MemoryGraph, OverlayView, ShapesGraph, Validator
from semtwin.shacl.incremental import ChangeScope
from semtwin.shacl.validator import ValidationResult

RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


def _key(r: ValidationResult) -> tuple[str, ...]:
    return (str(r.focus), str(r.shape) if isinstance(r.shape, NamedNode) else str(r.path),
            r.component.value, str(r.path), str(r.value))


def _random_triple(rng: random.Random, twins: int) -> Triple:
    s = NamedNode(f"{EX}t{rng.randrange(twins)}")
    p, o = rng.choice([
        (RDF_TYPE, NamedNode(EX + rng.choice(["Sensor", "Pump", "Room", "Other"]))),
        (NamedNode(EX + "feeds"), NamedNode(f"{EX}t{rng.randrange(twins)}")),
        (NamedNode(EX + "value"), Literal(str(rng.randrange(-5, 200)),
                                          datatype=NamedNode(
                                              "http://www.w3.org/2001/XMLSchema#integer"))),
        (LABEL, Literal(rng.choice(["a", "b"]), language=rng.choice(["en", "de"]))),
        (NamedNode(EX + "status"), NamedNode(EX + rng.choice(["on", "broken"]))),
        (NamedNode(EX + "min"), Literal(str(rng.randrange(10)),
                                        datatype=NamedNode(
                                            "http://www.w3.org/2001/XMLSchema#integer"))),
    ])
    return Triple(s, p, o)


@pytest.mark.parametrize("seed", range(80))
def test_incremental_equals_full(seed: int) -> None:
    rng = random.Random(seed)
    twins = 60
    base = MemoryGraph(parse(data_turtle(seed, twins).encode(), format=RdfFormat.TURTLE))
    shapes = ShapesGraph(MemoryGraph(parse(SHAPES.encode(), format=RdfFormat.TURTLE)))
    scope = ChangeScope(shapes)
    existing = list(base.triples())
    removed = [t for t in rng.sample(existing, rng.randrange(1, 6))
               if t.predicate.value != "http://www.w3.org/2000/01/rdf-schema#subClassOf"]
    added = [_random_triple(rng, twins) for _ in range(rng.randrange(1, 6))]
    post = OverlayView(base, added, removed)
    after = MemoryGraph(post_triples(base, added, removed))

    validator = Validator(shapes, post)
    affected = scope.focus(validator, OverlayView(base, added, ()), [*added, *removed])
    assert affected is not None
    incremental = validator.validate_nodes(affected)
    full_after = Validator(shapes, after).validate_all()
    full_before = Validator(shapes, base).validate_all()

    candidates: set[tuple[Term, Term]] = {(shape.node, node)
                                          for shape, nodes in affected.items() for node in nodes}
    # a node that lost a type may have stopped being a target: its old results go too
    candidates |= {(shape.node, t.subject) for t in [*added, *removed] if t.predicate == RDF_TYPE
                   for shape in shapes.targeted if shape.target_classes}

    def inside(r: ValidationResult, shape_of: dict[Term, Term]) -> bool:
        return (shape_of.get(r.shape, r.shape), r.focus) in candidates

    top_of = _top_shapes(shapes)
    assert {_key(r) for r in incremental.results} == {
        _key(r) for r in full_after.results if inside(r, top_of)}
    untouched_after = {_key(r) for r in full_after.results if not inside(r, top_of)}
    untouched_before = {_key(r) for r in full_before.results if not inside(r, top_of)}
    assert untouched_after == untouched_before


def post_triples(base: MemoryGraph, added: list[Triple], removed: list[Triple]) -> list[Triple]:
    gone = set(removed)
    return [t for t in base.triples() if t not in gone] + added


def _top_shapes(shapes: ShapesGraph) -> dict[Term, Term]:
    """Each property shape's targeted parent (results name the property shape)."""
    top: dict[Term, Term] = {}
    for shape in shapes.targeted:
        top[shape.node] = shape.node
        for prop in shape.params.get("property", ()):
            top[prop] = shape.node
    return top
