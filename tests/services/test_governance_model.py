"""Write-time validation against full validation: random twin, relationship and SPARQL
writes under an active model whose shapes reach across twins (``sh:class`` on a relationship's
target, an inverse path, ``sh:node`` through a property, a subclass target). Every write the
pipeline accepts must leave the whole store conforming (validating only what a change can
affect misses nothing), and every write it refuses must, applied without validation to a copy
of the store, leave a violation (it refuses nothing that conforms)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from semtwin.errors import SemtwinError, ShapeViolation
from semtwin.rdf import RdfFormat
from semtwin.runtime import Semtwin
from semtwin.services.governance import data_view
from semtwin.settings import Settings
from semtwin.shacl import Validator
from semtwin.store import UpdateDataset

NS = "https://ex.org/gov#"
MODEL = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix : <{NS}> .
:model a owl:Ontology ; owl:versionInfo "1" .
:SubPump rdfs:subClassOf :Pump .
:PumpShape a sh:NodeShape ; sh:targetClass :Pump ;
  sh:property [ sh:path :value ; sh:datatype xsd:integer ; sh:maxInclusive 100 ;
                sh:maxCount 1 ] ;
  sh:property [ sh:path :feeds ; sh:class :Sensor ] ;
  sh:property [ sh:path :label ; sh:minCount 1 ] .
:SensorShape a sh:NodeShape ; sh:targetClass :Sensor ;
  sh:property [ sh:path [ sh:inversePath :feeds ] ; sh:maxCount 2 ] ;
  sh:property [ sh:path :unit ; sh:in ( "C" "F" ) ] .
:RoomShape a sh:NodeShape ; sh:targetClass :Room ;
  sh:property [ sh:path :contains ; sh:node :Labelled ] .
:Labelled a sh:NodeShape ; sh:property [ sh:path :label ; sh:minCount 1 ] .
""".encode()
TWINS = [f"g{n}" for n in range(6)]
KINDS = [NS + "Pump", NS + "SubPump", NS + "Sensor", NS + "Room"]
Write = Callable[[Semtwin], Any]


def _random_write(rng: random.Random) -> Write:
    twin, other = rng.choice(TWINS), rng.choice(TWINS)
    step = rng.randrange(11)
    if step < 3:
        properties: dict[str, Any] = {}
        # mostly conforming, so that a refusal often has one cause
        if rng.random() < 0.9:
            properties[NS + "label"] = rng.choice(["a", "b"])
        value = rng.choice([None, 5, 99, None, 5, 99, 101, "x", [1, 2]])
        if value is not None:
            properties[NS + "value"] = value
        unit = rng.choice([None, "C", "F", None, "C", "F", "K"])
        if unit is not None:
            properties[NS + "unit"] = unit
        if rng.random() < 0.3:
            properties[NS + "contains"] = {"@id": f"urn:twin:{other}"}
        body = {"$types": rng.sample(KINDS, rng.choice([1, 1, 2])), "properties": properties}
        return lambda rt: rt.twins.put(twin, body)
    if step == 3:
        label = rng.choice([None, "c"])
        return lambda rt: rt.twins.patch(twin, "merge", {"properties": {NS + "label": label}})
    if step in (4, 9, 10):  # a type changed under the relationships that reach the twin
        types = rng.sample(KINDS, rng.choice([1, 2]))
        return lambda rt: rt.twins.patch(twin, "merge", {"$types": types})
    if step in (5, 6):
        rel = rng.choice(["f1", "f2"])
        return lambda rt: rt.relationships.put(twin, rel, {
            "$relationshipName": NS + "feeds", "$targetId": other})
    if step == 7:
        def delete(rt: Semtwin) -> None:
            rt.twins.delete(twin, cascade=lambda: rt.relationships.relationship_graphs(
                rt.twins.iri(twin), direction="both"))
        return delete
    kind = rng.choice(KINDS)
    return lambda rt: rt.sparql.update(  # a type written into the twin's graph by SPARQL
        f"INSERT {{ GRAPH <urn:twin:{twin}> {{ <urn:twin:{twin}> a <{kind}> }} }} "
        f"WHERE {{ GRAPH <urn:twin:{twin}> {{ ?s ?p ?o }} }}", UpdateDataset())


def _violations(runtime: Semtwin) -> list[Any]:
    active = runtime.active_shapes.current()
    assert active is not None
    return Validator(active[0], data_view(runtime.store),
                     stored_form=runtime.store.stored_form).validate_all().violations


@pytest.mark.parametrize("seed", range(4))
def test_write_validation_agrees_with_full_validation(tmp_path: Path, seed: int) -> None:
    _governance_model(tmp_path, str(tmp_path / "db"), seed, 200)


def test_write_validation_of_a_remote_store(tmp_path: Path, store_location: str) -> None:
    """On each backend (validation reads a remote store by queries): accepted writes leave
    it conforming; a refused one is checked on an embedded copy only."""
    _governance_model(tmp_path, store_location, 1, 120)


def _governance_model(tmp_path: Path, location: str, seed: int, steps: int) -> None:
    rng = random.Random(seed)
    runtime = Semtwin.open(Settings(store=location))
    runtime.models.upload(MODEL, RdfFormat.TURTLE)
    runtime.models.set_status(f"{NS}model", "1", "active")
    copies = runtime.store.capabilities.in_process
    accepted = refused = 0
    for step in range(steps):
        write = _random_write(rng)
        head = runtime.pipeline.journal_head()
        try:
            write(runtime)
        except ShapeViolation:
            refused += 1
            assert runtime.pipeline.journal_head() == head
            if copies:
                copy = tmp_path / f"copy{step}"
                runtime.store.backup(copy)
                unchecked = Semtwin.open(Settings(store=str(copy)))
                unchecked.pipeline.check = None  # the same write, not validated
                write(unchecked)
                assert _violations(unchecked), f"refused, but conforms: step {step}"
                unchecked.close()
            continue
        except SemtwinError:
            continue  # refused for another reason (a missing twin, relationships in the way)
        accepted += 1
        assert not _violations(runtime), f"accepted, but violates: step {step}"
    assert accepted > steps // 6 and refused > steps // 20  # both sides were exercised
    runtime.close()
