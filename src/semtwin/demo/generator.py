"""Generate building twin graphs: sites, buildings, floors, rooms, equipment and points.

Terms follow Brick (``https://brickschema.org/schema/Brick#``) with a small class hierarchy
(``rdfs:subClassOf``) so subclass queries have something to walk. Every twin's statements
live in its own named graph (the twin IRI), the layout the twin API uses. Seeded: the same
spec always gives the same quads.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from semtwin.rdf import Literal, NamedNode, Quad

BRICK = "https://brickschema.org/schema/Brick#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SCHEMA = "https://semtwin.dev/demo/schema#"
ONTOLOGY_GRAPH = NamedNode("https://semtwin.dev/demo/ontology")

# class -> superclass, a slice of Brick's tree
HIERARCHY = {
    "Point": None,
    "Sensor": "Point",
    "Temperature_Sensor": "Sensor",
    "Air_Temperature_Sensor": "Temperature_Sensor",
    "Zone_Air_Temperature_Sensor": "Air_Temperature_Sensor",
    "Supply_Air_Temperature_Sensor": "Air_Temperature_Sensor",
    "Humidity_Sensor": "Sensor",
    "CO2_Sensor": "Sensor",
    "Setpoint": "Point",
    "Temperature_Setpoint": "Setpoint",
    "Zone_Air_Temperature_Setpoint": "Temperature_Setpoint",
    "Status": "Point",
    "On_Off_Status": "Status",
    "Equipment": None,
    "HVAC_Equipment": "Equipment",
    "Air_Handling_Unit": "HVAC_Equipment",
    "Terminal_Unit": "HVAC_Equipment",
    "VAV": "Terminal_Unit",
    "Fan_Coil_Unit": "Terminal_Unit",
    "Lighting_Equipment": "Equipment",
    "Luminaire": "Lighting_Equipment",
    "Meter": "Equipment",
    "Electrical_Meter": "Meter",
    "Location": None,
    "Site": "Location",
    "Building": "Location",
    "Floor": "Location",
    "Space": "Location",
    "Room": "Space",
    "Office": "Room",
    "Conference_Room": "Room",
    "Laboratory": "Room",
}
EQUIPMENT_KINDS = ["VAV", "Fan_Coil_Unit", "Luminaire", "Electrical_Meter", "Air_Handling_Unit"]
POINT_KINDS = {
    "VAV": ["Zone_Air_Temperature_Sensor", "Zone_Air_Temperature_Setpoint", "On_Off_Status"],
    "Fan_Coil_Unit": ["Zone_Air_Temperature_Sensor", "Humidity_Sensor", "On_Off_Status"],
    "Luminaire": ["On_Off_Status"],
    "Electrical_Meter": ["On_Off_Status"],
    "Air_Handling_Unit": ["Supply_Air_Temperature_Sensor", "CO2_Sensor", "On_Off_Status"],
}
ROOM_KINDS = ["Office", "Office", "Office", "Conference_Room", "Laboratory"]
CITIES = ["Lyon", "Oslo", "Porto", "Gent", "Graz", "Turku", "Brno", "Cork", "Bern", "Pisa"]


@dataclass(frozen=True)
class BuildingSpec:
    buildings: int = 1
    floors: int = 3
    rooms_per_floor: int = 6
    equipment_per_room: int = 2
    seed: int = 42
    base: str = "https://semtwin.dev/demo/"


def _iri(name: str) -> NamedNode:
    return NamedNode(name)


def ontology_quads() -> Iterator[Quad]:
    rdf_type = NamedNode(RDF + "type")
    sub = NamedNode(RDFS + "subClassOf")
    label = NamedNode(RDFS + "label")
    owl_class = NamedNode("http://www.w3.org/2002/07/owl#Class")
    for name, parent in HIERARCHY.items():
        cls = NamedNode(BRICK + name)
        yield Quad(cls, rdf_type, owl_class, ONTOLOGY_GRAPH)
        yield Quad(cls, label, Literal(name.replace("_", " ")), ONTOLOGY_GRAPH)
        if parent:
            yield Quad(cls, sub, NamedNode(BRICK + parent), ONTOLOGY_GRAPH)


def generate_building_graph(spec: BuildingSpec) -> Iterator[Quad]:
    """Yield the ontology slice, then every twin's quads in the twin's own graph."""
    rng = random.Random(spec.seed)
    rdf_type = NamedNode(RDF + "type")
    label = NamedNode(RDFS + "label")
    has_part = NamedNode(BRICK + "hasPart")
    has_location = NamedNode(BRICK + "hasLocation")
    has_point = NamedNode(BRICK + "hasPoint")
    feeds = NamedNode(BRICK + "feeds")
    identifier = NamedNode(SCHEMA + "identifier")
    value = NamedNode(SCHEMA + "value")
    area = NamedNode(SCHEMA + "area")
    city_p = NamedNode(SCHEMA + "city")
    serial = NamedNode(SCHEMA + "serialNumber")
    updated = NamedNode(SCHEMA + "lastUpdated")
    xsd_decimal = NamedNode(XSD + "decimal")
    xsd_datetime = NamedNode(XSD + "dateTime")

    yield from ontology_quads()
    site = _iri(f"{spec.base}site")
    yield Quad(site, rdf_type, NamedNode(BRICK + "Site"), site)
    yield Quad(site, label, Literal("Demo campus"), site)
    for b in range(spec.buildings):
        building = _iri(f"{spec.base}building/{b}")
        city = CITIES[b % len(CITIES)]
        g = building
        yield Quad(building, rdf_type, NamedNode(BRICK + "Building"), g)
        yield Quad(building, label, Literal(f"Building {b} ({city})"), g)
        yield Quad(building, city_p, Literal(city), g)
        yield Quad(building, identifier, Literal(f"B{b:03d}"), g)
        yield Quad(site, has_part, building, g)
        ahu = _iri(f"{spec.base}building/{b}/ahu")
        yield Quad(ahu, rdf_type, NamedNode(BRICK + "Air_Handling_Unit"), ahu)
        yield Quad(ahu, label, Literal(f"AHU of building {b}"), ahu)
        yield Quad(ahu, has_location, building, ahu)
        for f in range(spec.floors):
            floor = _iri(f"{spec.base}building/{b}/floor/{f}")
            yield Quad(floor, rdf_type, NamedNode(BRICK + "Floor"), floor)
            yield Quad(floor, label, Literal(f"Floor {f} of building {b}"), floor)
            yield Quad(building, has_part, floor, floor)
            for r in range(spec.rooms_per_floor):
                room = _iri(f"{spec.base}building/{b}/floor/{f}/room/{r}")
                kind = ROOM_KINDS[rng.randrange(len(ROOM_KINDS))]
                yield Quad(room, rdf_type, NamedNode(BRICK + kind), room)
                yield Quad(room, label,
                           Literal(f"{kind.replace('_', ' ')} {f}.{r:02d} in {city}"), room)
                yield Quad(floor, has_part, room, room)
                yield Quad(room, identifier, Literal(f"B{b:03d}-{f:02d}-{r:03d}"), room)
                yield Quad(room, area,
                           Literal(f"{rng.uniform(8, 80):.1f}", datatype=xsd_decimal), room)
                for e in range(spec.equipment_per_room):
                    equip = _iri(f"{spec.base}building/{b}/floor/{f}/room/{r}/equipment/{e}")
                    ekind = EQUIPMENT_KINDS[rng.randrange(len(EQUIPMENT_KINDS) - 1)]
                    eg = equip
                    yield Quad(equip, rdf_type, NamedNode(BRICK + ekind), eg)
                    yield Quad(equip, label,
                               Literal(f"{ekind.replace('_', ' ')} {e} in room {f}.{r:02d}"), eg)
                    yield Quad(equip, has_location, room, eg)
                    yield Quad(equip, serial, Literal(f"SN-{rng.randrange(10**8):08d}"), eg)
                    if ekind in {"VAV", "Fan_Coil_Unit"}:
                        yield Quad(ahu, feeds, equip, eg)
                    for p, pkind in enumerate(POINT_KINDS[ekind]):
                        point = _iri(f"{equip.value}/point/{p}")
                        yield Quad(point, rdf_type, NamedNode(BRICK + pkind), point)
                        yield Quad(point, label, Literal(f"{pkind.replace('_', ' ')}"), point)
                        yield Quad(equip, has_point, point, point)
                        reading = rng.uniform(15, 30) if "Temperature" in pkind else rng.uniform(
                            0, 100)
                        yield Quad(point, value,
                                   Literal(f"{reading:.2f}", datatype=xsd_decimal), point)
                        yield Quad(point, updated,
                                   Literal(f"2026-11-{1 + rng.randrange(25):02d}T"
                                           f"{rng.randrange(24):02d}:00:00Z",
                                           datatype=xsd_datetime), point)


def demo_quads() -> list[Quad]:
    """The small demo campus: two buildings, a few hundred twins."""
    return list(generate_building_graph(BuildingSpec(buildings=2, floors=3, rooms_per_floor=6)))


