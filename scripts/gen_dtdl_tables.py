"""Derive semtwin's DTDL tables (mappings/dtdl/*.json) from the published DTDL language
files: the JSON-LD contexts and the metamodel (RDFS + SHACL) of DTDL v2 and v3.

    python scripts/gen_dtdl_tables.py ../shared/data/dtdl/language

The tables keep what the validator needs (terms, class hierarchy, property constraints,
limits), in a compact form; the sources are Azure/opendigitaltwins-dtdl (MIT).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "mappings" / "dtdl"
DATATYPES = {"xsd:string": "string", "xsd:integer": "integer", "xsd:boolean": "boolean",
             "rdf:langString": "langString"}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def short(iri: str) -> str:
    """dtmi:dtdl:class:Interface;3 -> Interface; dtmi:dtdl:property:name;2 -> name."""
    if iri.startswith("dtmi:dtdl:") and iri.count(":") >= 3:
        return iri.split(":")[-1].split(";")[0]
    return iri


def constraint(prop: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    out: dict[str, Any] = {}
    for key, name in (("sh:minCount", "min"), ("sh:maxCount", "max"), ("sh:pattern", "pattern"),
                      ("sh:maxLength", "maxLength"), ("sh:minInclusive", "minInclusive"),
                      ("sh:maxInclusive", "maxInclusive"), ("sh:uniqueLang", "uniqueLang"),
                      ("dtmm:typeInferable", "typeInferable"), ("dtmm:value", "value"),
                      ("dtmm:deprecated", "deprecated")):
        if key in prop:
            out[name] = prop[key]
    if "sh:datatype" in prop:
        out["datatype"] = DATATYPES[prop["sh:datatype"]]
    out["nodeKind"] = prop["sh:nodeKind"].removeprefix("sh:")
    classes = [prop["sh:class"]] if "sh:class" in prop else [
        o["sh:class"] for o in prop.get("sh:or", [])]
    if classes:
        out["classes"] = sorted({short(c) for c in classes})
    if "sh:in" in prop:
        out["in"] = [short(i) for i in prop["sh:in"]]
    if "dtmm:uniqueProperties" in prop:
        out["unique"] = [short(p) for p in prop["dtmm:uniqueProperties"]]
    if "dtmm:dtmiSegment" in prop:
        out["segment"] = short(prop["dtmm:dtmiSegment"])
    return short(prop["sh:path"]), out


def metamodel(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    graph = load(path)["@graph"]
    classes: dict[str, Any] = {}
    global_: dict[str, Any] = {}
    for node in graph:
        types = node.get("@type", [])
        if "dtmm:Global" in types:
            ident = node["dtmm:identifier"]
            apocrypha = node.get("dtmm:apocrypha", {})
            global_ = {
                "idPattern": ident["sh:pattern"], "idMaxLength": ident["sh:maxLength"],
                "reservedPrefixes": ident["dtmm:reservedPrefix"],
                "maxBytes": node.get("dtmm:partition", {}).get("dtmm:maxBytes"),
                "allowUndefinedExtensionsByDefault":
                    node["dtmm:allowUndefinedExtensionsByDefault"],
                "restrictKeywords": node["dtmm:restrictKeywords"],
                "alwaysAllow": {k.removeprefix("dtmm:"): [v.removeprefix("dtmm:") for v in vs]
                                for k, vs in apocrypha.get("dtmm:alwaysAllow", {}).items()},
                "neverAllow": {k.removeprefix("dtmm:"): [v.removeprefix("dtmm:") for v in vs]
                               for k, vs in apocrypha.get("dtmm:neverAllow", {}).items()},
            }
            continue
        if "rdfs:Class" not in types:
            continue
        entry: dict[str, Any] = {
            "super": short(node["rdfs:subClassOf"]) if "rdfs:subClassOf" in node else None,
            "abstract": "dtmm:Abstract" in types,
            "material": "dtmm:Material" in types,
            "extensible": "dtmm:Extensible" in types,
            "partition": "dtmm:Partition" in types,
            "props": dict(constraint(p) for p in node.get("sh:property", [])),
        }
        if "sh:or" in node:
            entry["cotypeOf"] = sorted({short(o["sh:class"]) for o in node["sh:or"]})
        if "dtmm:identifier" in node:
            entry["idMaxLength"] = node["dtmm:identifier"]["sh:maxLength"]
        descendants = []
        for rule in node.get("dtmm:descendants", []):
            d = {"properties": [short(p) for p in rule["dtmm:properties"]]}
            for key in ("dtmm:maxCount", "dtmm:maxDepth", "dtmm:narrow"):
                if key in rule:
                    d[key.removeprefix("dtmm:")] = rule[key]
            if "dtmm:importProperties" in rule:
                d["importProperties"] = [short(p) for p in rule["dtmm:importProperties"]]
            if "dtmm:excludeType" in rule:
                d["excludeType"] = short(rule["dtmm:excludeType"])
            if "dtmm:datatypeProperty" in rule:
                d["datatypeProperty"] = short(rule["dtmm:datatypeProperty"])
            descendants.append(d)
        if descendants:
            entry["descendants"] = descendants
        if "dtmm:instance" in node and "sh:datatype" in node["dtmm:instance"]:
            entry["instancePattern"] = node["dtmm:instance"].get("sh:pattern")
        classes[short(node["@id"])] = entry
    return classes, global_


def terms(path: Path) -> dict[str, str]:
    context = load(path)
    return {k: (v["@id"] if isinstance(v, dict) else v) for k, v in context.items()
            if not k.startswith("@") and ":" not in k
            and isinstance(v, dict) and "@id" in v}


def semantic_units(root: Path) -> dict[str, list[str]]:
    """Semantic type -> the names of the units it accepts (quantitativeTypes extension; DTDL
    v2's built-in semantic types use the same names)."""
    meta = root / "v3/metamodel"
    shacl = load(meta / "DTDL.FeatureExtension.quantitativeTypes.v1.RDF-SHACL.json")["@graph"]
    elements = load(meta / "DTDL.FeatureExtension.quantitativeTypes.v1.Elements.json")
    units = {e["@id"].split(":")[-1]: [v["name"] for v in e.get("enumValues", [])]
             for e in elements}
    out: dict[str, list[str]] = {}
    for node in shacl:
        for prop in node.get("sh:property", []):
            if prop.get("sh:path") == "unit" and "dtmm:childOf" in prop:
                out[node["@id"].split(":")[-1]] = units.get(prop["dtmm:childOf"], [])
    return out


def main(root: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for version in (2, 3):
        meta = root / f"v{version}/metamodel/DTDL.v{version}.ModelRDF-SHACL.json"
        classes, global_ = metamodel(meta)
        table = {
            "source": f"Azure/opendigitaltwins-dtdl DTDL/v{version} (MIT): context and "
                      "metamodel",
            "version": version, "context": f"dtmi:dtdl:context;{version}",
            "global": global_, "classes": classes,
            "terms": terms(root / f"v{version}/context/DTDL.v{version}.context.json"),
        }
        table["semanticUnits"] = semantic_units(root)
        if version == 2:
            table["extensions"] = {"dtmi:iotcentral:context;2": terms(
                root / "v2/context/DTDL.v2.iotcentral.context.json")}
        else:
            table["extensions"] = {
                f"dtmi:dtdl:extension:{name};1": terms(
                    root / f"v3/context/DTDL.FeatureExtension.{name}.v1.context.json")
                for name in ("quantitativeTypes", "historization", "annotation", "overriding",
                             "mqtt")}
        (OUT / f"dtdl-v{version}.json").write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
