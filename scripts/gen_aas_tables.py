"""Derive semtwin's AAS V3.0 table (mappings/aas/aas-v3.json) from the official RDF ontology
and JSON schema (admin-shell-io/aas-specs, CC-BY-4.0):

    python scripts/gen_aas_tables.py ../shared/data/aas/spec-v3.0

For each class: its superclasses; for each attribute ``Class/attr``: its range (a class, an
enumeration or an XSD datatype); for each enumeration: JSON value -> individual IRI.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import rdflib
from rdflib.namespace import OWL, RDF, RDFS

OUT = Path(__file__).resolve().parents[1] / "mappings" / "aas" / "aas-v3.json"
NS = "https://admin-shell.io/aas/3/0/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.removeprefix("xs:").lower())


def main(root: Path) -> None:
    g = rdflib.Graph()
    g.parse(root / "rdf-ontology.ttl")
    schema = json.loads((root / "aas.json").read_text(encoding="utf-8"))["definitions"]
    classes: dict[str, dict[str, object]] = {}
    enums: dict[str, dict[str, str]] = {}
    for cls in sorted(set(g.subjects(RDF.type, OWL.Class))):
        name = str(cls).removeprefix(NS)
        if "/" in name or not str(cls).startswith(NS):
            continue
        one_of = g.value(cls, OWL.oneOf)
        if one_of is not None:
            members = [str(m) for m in rdflib.collection.Collection(g, one_of)]
            values = schema.get(name, {}).get("enum", [])
            table = {}
            for value in values:
                match = [m for m in members if normal(m.rsplit("/", 1)[1]) == normal(value)]
                if len(match) != 1:
                    raise SystemExit(f"{name}: no single individual for {value!r}")
                table[value] = match[0].removeprefix(NS)
            enums[name] = table
            continue
        classes[name] = {"super": sorted(str(s).removeprefix(NS)
                                         for s in g.objects(cls, RDFS.subClassOf)
                                         if str(s).startswith(NS))}
    properties: dict[str, dict[str, str]] = {}
    for prop in sorted(set(g.subjects(RDF.type, OWL.ObjectProperty)) |
                       set(g.subjects(RDF.type, OWL.DatatypeProperty))):
        name = str(prop).removeprefix(NS)
        rng = str(g.value(prop, RDFS.range))
        if rng.startswith(XSD):
            properties[name] = {"datatype": rng.removeprefix(XSD)}
        elif rng.removeprefix(NS) in enums:
            properties[name] = {"enum": rng.removeprefix(NS)}
        else:
            properties[name] = {"class": rng.removeprefix(NS)}
    def json_props(name: str) -> dict[str, object]:
        definition = schema.get(name, {})
        props: dict[str, object] = dict(definition.get("properties", {}))
        for part in definition.get("allOf", []):
            props.update(part.get("properties", {}))
        return props

    for name, info in properties.items():
        cls, _, attr = name.partition("/")
        spec = json_props(cls).get(attr)
        if isinstance(spec, dict) and spec.get("type") == "array":
            info["list"] = "true"
    model_types = sorted(name for name in schema if isinstance(
        json_props(name).get("modelType"), dict) and "const" in json_props(name)["modelType"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "source": "admin-shell-io/aas-specs schemas (V3.0, CC-BY-4.0): rdf-ontology.ttl, aas.json",
        "namespace": NS, "classes": classes, "properties": properties, "enums": enums,
        "modelTypes": model_types},
        indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
