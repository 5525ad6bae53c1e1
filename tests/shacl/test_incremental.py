"""Incremental validation is exact: after random changes to generated data, validating only
the focus nodes ``ChangeScope.affected`` names gives the same results as validating
everything, and no focus node outside that set changed its results."""

from __future__ import annotations

import random

import pytest
from tests.shacl.generated import EX, PREFIXES, SHAPES, data_turtle

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


# One direction per shape: a type change matters to these only through the value's incoming
# (forward path) or outgoing (inverse path) link, which is what the pruning of type changes
# by the paths' last steps decides on.
DIRECTED_SHAPES = [PREFIXES + """
ex:RoomFedShape a sh:NodeShape ; sh:targetClass ex:Room ;
  sh:property [ sh:path [ sh:inversePath ex:feeds ] ; sh:class ex:Equipment ] .
""", PREFIXES + """
ex:PumpFeedsShape a sh:NodeShape ; sh:targetClass ex:Pump ;
  sh:property [ sh:path ex:feeds ; sh:node [ sh:not [ sh:class ex:Room ] ] ] .
"""]


@pytest.mark.parametrize("seed", range(80))
def test_incremental_equals_full(seed: int) -> None:
    _incremental_equals_full(seed, SHAPES)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("shapes_text", DIRECTED_SHAPES, ids=["inverse", "forward"])
def test_incremental_equals_full_one_direction(seed: int, shapes_text: str) -> None:
    _incremental_equals_full(seed, shapes_text)


def _incremental_equals_full(seed: int, shapes_text: str) -> None:
    rng = random.Random(seed)
    twins = 60
    base = MemoryGraph(parse(data_turtle(seed, twins).encode(), format=RdfFormat.TURTLE))
    shapes = ShapesGraph(MemoryGraph(parse(shapes_text.encode(), format=RdfFormat.TURTLE)))
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


@pytest.mark.parametrize(("shapes_text", "focus", "link", "change"), [
    # the value reaches the focus through an inverse path: only its outgoing link leads there
    (DIRECTED_SHAPES[0], "r", "ex:x ex:feeds ex:r .",
     Triple(NamedNode(f"{EX}x"), RDF_TYPE, NamedNode(f"{EX}Pump"))),
    # through a forward path: only its incoming link leads there
    (DIRECTED_SHAPES[1], "p", "ex:p ex:feeds ex:x .",
     Triple(NamedNode(f"{EX}x"), RDF_TYPE, NamedNode(f"{EX}Room"))),
], ids=["inverse", "forward"])
def test_a_type_change_reaches_the_focus_its_node_is_a_value_of(
        shapes_text: str, focus: str, link: str, change: Triple) -> None:
    data = f"""@prefix ex: <{EX}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Pump rdfs:subClassOf ex:Equipment .
ex:r a ex:Room . ex:p a ex:Pump . ex:x a ex:Other . {link}
"""
    base = MemoryGraph(parse(data.encode(), format=RdfFormat.TURTLE))
    shapes = ShapesGraph(MemoryGraph(parse(shapes_text.encode(), format=RdfFormat.TURTLE)))
    post = OverlayView(base, [change], [])
    validator = Validator(shapes, post)
    affected = ChangeScope(shapes).focus(validator, post, [change])
    assert affected is not None
    before = {r.focus for r in Validator(shapes, base).validate_all().results}
    after = {r.focus for r in Validator(shapes, post).validate_all().results}
    assert before != after, "the change must alter the focus's results"
    assert NamedNode(f"{EX}{focus}") in {n for nodes in affected.values() for n in nodes}
