"""Seeded random twin data and shapes for differential tests and benchmarks: a class
hierarchy, twins with typed properties and links, and shapes over them that use most core
constraint components and path kinds."""

from __future__ import annotations

import random

EX = "http://example.org/gen#"
PREFIXES = f"""@prefix ex: <{EX}> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def data_turtle(seed: int, twins: int) -> str:
    rng = random.Random(seed)
    lines = [PREFIXES,
             "ex:Equipment rdfs:subClassOf ex:Thing . ex:Sensor rdfs:subClassOf ex:Equipment .",
             "ex:Pump rdfs:subClassOf ex:Equipment . ex:Room rdfs:subClassOf ex:Thing ."]
    classes = ["ex:Sensor", "ex:Pump", "ex:Room", "ex:Equipment", "ex:Other"]
    for i in range(twins):
        cls = rng.choice(classes)
        props = [f"a {cls}"]
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            label = rng.choice(['"pump"', '"Sensor 1"', '"x"', '"room"@en', '"Raum"@de',
                                '"room two"@en', "42"])
            props.append(f"rdfs:label {label}")
        if rng.random() < 0.8:
            value = rng.choice(["21.5", '"hot"', "-3", "150", '"12"^^xsd:integer',
                                '"1e3"^^xsd:double', '"abc"^^xsd:integer'])
            props.append(f"ex:value {value}")
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            props.append(f"ex:feeds ex:t{rng.randrange(twins)}")
        if rng.random() < 0.3:
            props.append(f"ex:status {rng.choice(['ex:on', 'ex:off', 'ex:broken'])}")
        if rng.random() < 0.2:
            props.append(f"ex:serial \"{rng.choice(['SN-001', 'sn-2', 'SN-12345'])}\"")
        if rng.random() < 0.2:
            props.append(f"ex:min {rng.randrange(10)} ; ex:max {rng.randrange(10)}")
        lines.append(f"ex:t{i} " + " ;\n  ".join(props) + " .")
    return "\n".join(lines)


SHAPES = PREFIXES + """
ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path rdfs:label ; sh:minCount 1 ; sh:maxCount 1 ; sh:uniqueLang true ] ;
  sh:property [ sh:path ex:value ; sh:datatype xsd:decimal ] .
ex:SensorShape a sh:NodeShape ; sh:targetClass ex:Sensor ;
  sh:property [ sh:path ex:value ; sh:minInclusive 0 ; sh:maxExclusive 100 ] ;
  sh:property [ sh:path ex:feeds ; sh:class ex:Equipment ; sh:maxCount 2 ] ;
  sh:property [ sh:path [ sh:inversePath ex:feeds ] ; sh:node ex:FedByShape ] .
ex:FedByShape a sh:NodeShape ; sh:nodeKind sh:IRI ;
  sh:not [ sh:class ex:Room ] .
ex:PumpShape a sh:NodeShape ; sh:targetClass ex:Pump ;
  sh:property [ sh:path ex:status ; sh:in ( ex:on ex:off ) ; sh:minCount 1 ] ;
  sh:property [ sh:path ex:serial ; sh:pattern "^SN-[0-9]+$" ; sh:maxLength 7 ] ;
  sh:property [ sh:path ( ex:feeds ex:feeds ) ; sh:nodeKind sh:IRI ;
                sh:qualifiedValueShape [ sh:class ex:Room ] ; sh:qualifiedMaxCount 1 ] .
ex:RangeShape a sh:NodeShape ; sh:targetSubjectsOf ex:min ;
  sh:property [ sh:path ex:min ; sh:lessThan ex:max ] .
ex:LabelShape a sh:NodeShape ; sh:targetObjectsOf ex:feeds ;
  sh:or ( [ sh:path rdfs:label ; sh:minCount 1 ] [ sh:class ex:Room ] ) ;
  sh:property [ sh:path [ sh:zeroOrMorePath ex:feeds ] ; sh:maxCount 500 ] .
"""
