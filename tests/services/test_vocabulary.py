"""What the active models say about property values (the JSON-LD context's terms), read off
the real Brick 1.4 ontology and off small models that disagree with themselves."""

from __future__ import annotations

from pathlib import Path

import brickschema

from semtwin.rdf import RdfFormat, parse
from semtwin.services.vocabulary import IRI_VALUES, derive_terms
from semtwin.shacl import MemoryGraph

BRICK = "https://brickschema.org/schema/Brick#"
REC = "https://w3id.org/rec#"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _graph(turtle: bytes) -> MemoryGraph:
    return MemoryGraph(parse(turtle, format=RdfFormat.TURTLE))


def test_brick_properties_and_prefixes() -> None:
    ontology = Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"
    terms = derive_terms(_graph(ontology.read_bytes()))
    for relation in ("hasPoint", "isPointOf", "feeds", "hasLocation", "hasPart"):
        assert terms.coercions[BRICK + relation] == IRI_VALUES
    assert terms.coercions[REC + "serialNumber"] == XSD + "string"
    assert terms.coercions[REC + "batteryPercentage"] == XSD + "double"
    # Brick declares its prefixes with sh:declare
    assert terms.prefixes["brick"] == BRICK and terms.prefixes["rec"] == REC
    assert "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" not in terms.coercions


def test_disagreement_and_what_is_not_coerced() -> None:
    terms = derive_terms(_graph(b"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix ex: <https://ex.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:a rdfs:range xsd:string . ex:S sh:property [ sh:path ex:a ; sh:datatype xsd:integer ] .
ex:b a owl:ObjectProperty . ex:S sh:property [ sh:path ex:b ; sh:datatype xsd:string ] .
ex:c rdfs:range rdfs:Literal . ex:d rdfs:range ex:Celsius . ex:Celsius a rdfs:Datatype .
ex:e rdfs:range ex:Room . ex:S sh:property [ sh:path ex:f ; sh:nodeKind sh:IRI ] ;
  sh:property [ sh:path [ sh:inversePath ex:g ] ; sh:class ex:Room ] .
ex:S sh:declare [ sh:prefix "ex" ; sh:namespace "https://ex.org/"^^xsd:anyURI ] ,
  [ sh:prefix "x y" ; sh:namespace "https://ex.org/y/"^^xsd:anyURI ] .
"""))
    ex = "https://ex.org/"
    assert ex + "a" not in terms.coercions and ex + "b" not in terms.coercions
    assert ex + "c" not in terms.coercions
    assert terms.coercions[ex + "d"] == ex + "Celsius"
    assert terms.coercions[ex + "e"] == IRI_VALUES
    assert terms.coercions[ex + "f"] == IRI_VALUES
    assert ex + "g" not in terms.coercions  # an inverse path says nothing of ex:g's values
    assert terms.prefixes == {"ex": ex}
