"""Azure Digital Twins documents <-> semtwin twin and relationship bodies.

ADT twins (``$dtId``, ``$metadata.$model``, properties by content name) and relationships
(``$relationshipId``, ``$sourceId`` or ``$dtId``, ``$targetId``, ``$relationshipName``) come
as JSON (a twin, an array, or ``{"digitalTwins": [...], "relationships": [...]}``) or as the
ADT bulk-import NDJSON (``{"Section": "Header" | "Models" | "Twins" | "Relationships"}``
lines). Property names are resolved against the twin's interface and the interfaces it
extends: the predicate is the content's DTMI, the value typed by its schema (primitives as
XSD literals, enums by their value, Object/Map/Array/Component values as ``rdf:JSON``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from semtwin.mappings import MappingError, SourceFile, SourceProblem
from semtwin.mappings.dtdl.to_rdf import RDF_JSON, XSD, primitive_datatype

ADT_KEYS = {"$dtId", "$metadata", "$etag"}


@dataclass(frozen=True)
class Content:
    iri: str
    name: str
    kind: str                       # Property, Relationship, Component, Telemetry, Command
    schema: str | None = None       # schema IRI (primitive instance or element DTMI)
    schema_kind: str | None = None  # the schema element's DTDL class, when not primitive
    properties: dict[str, Content] = field(default_factory=dict)   # a relationship's


@dataclass(frozen=True)
class InterfaceInfo:
    iri: str
    contents: dict[str, Content]    # by name, inherited ones included


Resolver = Callable[[str], InterfaceInfo | None]


@dataclass
class AdtDocument:
    models: list[dict[str, Any]]
    twins: list[tuple[str, dict[str, Any]]]           # (JSON pointer, twin)
    relationships: list[tuple[str, dict[str, Any]]]


def read_adt(source: SourceFile) -> AdtDocument:
    """Split an ADT document into interfaces, twins and relationships."""
    text = source.data.decode("utf-8-sig", errors="strict")
    doc = AdtDocument([], [], [])
    stripped = text.lstrip()
    if stripped.startswith("{") and '"Section"' in stripped.split("\n", 1)[0]:
        section = None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise MappingError([SourceProblem(source.name, f"line {number}",
                                                  f"not JSON: {err}")]) from None
            if isinstance(item, dict) and set(item) == {"Section"}:
                section = item["Section"]
                continue
            where = f"line {number}"
            if section == "Models":
                doc.models.append(item)
            elif section == "Twins":
                doc.twins.append((where, item))
            elif section == "Relationships":
                doc.relationships.append((where, item))
            elif section != "Header":
                raise MappingError([SourceProblem(source.name, where,
                                                  f"unknown section {section!r}")])
        return doc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise MappingError([SourceProblem(source.name, f"line {err.lineno}",
                                          f"not JSON: {err.msg}")]) from None
    if isinstance(data, dict) and ("digitalTwins" in data or "relationships" in data):
        doc.twins = [(f"/digitalTwins/{i}", t) for i, t in
                     enumerate(data.get("digitalTwins", []))]
        doc.relationships = [(f"/relationships/{i}", r) for i, r in
                             enumerate(data.get("relationships", []))]
        return doc
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        where = f"/{index}" if isinstance(data, list) else ""
        if isinstance(item, dict) and "$dtId" in item and "$relationshipId" not in item:
            doc.twins.append((where, item))
        elif isinstance(item, dict) and "$relationshipId" in item:
            doc.relationships.append((where, item))
        else:
            doc.models.append(item)
    return doc


def twin_body(twin: Any, where: str, file: str, resolve: Resolver) -> tuple[str, dict[str, Any]]:
    """An ADT twin as (twin id, semtwin twin body)."""
    def fail(message: str, at: str = where) -> MappingError:
        return MappingError([SourceProblem(file, at, message)])

    if not isinstance(twin, dict):
        raise fail("a twin is a JSON object")
    twin_id = twin.get("$dtId")
    model = twin.get("$metadata", {}).get("$model") if isinstance(
        twin.get("$metadata"), dict) else None
    if not isinstance(twin_id, str):
        raise fail("$dtId (a string) is required")
    if not isinstance(model, str):
        raise fail("$metadata.$model (the interface DTMI) is required")
    info = resolve(model)
    if info is None:
        raise fail(f"interface {model} is not among the server's DTDL models "
                   "(import it first, or in the same request)", f"{where}/$metadata/$model")
    properties: dict[str, Any] = {}
    for key, value in twin.items():
        if key in ADT_KEYS:
            continue
        content = info.contents.get(key)
        at = f"{where}/{key}"
        if content is None or content.kind not in ("Property", "Component"):
            raise fail(f"{model} has no property or component {key!r}", at)
        properties[content.iri] = _value(value, content, at, file)
    return twin_id, {"$types": [model], "properties": properties}


def relationship_body(rel: Any, where: str, file: str, model_of: Callable[[str], str | None],
                      resolve: Resolver) -> tuple[str, str, dict[str, Any]]:
    """An ADT relationship as (source twin id, relationship id, semtwin body)."""
    def fail(message: str) -> MappingError:
        return MappingError([SourceProblem(file, where, message)])

    if not isinstance(rel, dict):
        raise fail("a relationship is a JSON object")
    source = rel.get("$sourceId", rel.get("$dtId"))
    rel_id, target, name = (rel.get("$relationshipId"), rel.get("$targetId"),
                            rel.get("$relationshipName"))
    for key, value in (("$sourceId", source), ("$relationshipId", rel_id),
                       ("$targetId", target), ("$relationshipName", name)):
        if not isinstance(value, str):
            raise fail(f"{key} (a string) is required")
    assert isinstance(source, str) and isinstance(rel_id, str) and isinstance(name, str)
    model = model_of(source)
    info = resolve(model) if model else None
    if info is None:
        raise fail(f"the source twin {source!r} is unknown or has no DTDL model")
    content = info.contents.get(name)
    if content is None or content.kind != "Relationship":
        raise fail(f"{model} has no relationship {name!r}")
    properties: dict[str, Any] = {}
    for key, value in rel.items():
        if key.startswith("$"):
            continue
        prop = content.properties.get(key)
        if prop is None:
            raise fail(f"relationship {name!r} has no property {key!r}")
        properties[prop.iri] = _value(value, prop, f"{where}/{key}", file)
    return source, rel_id, {"$relationshipName": content.iri, "$targetId": target,
                            "properties": properties}


def _value(value: Any, content: Content, at: str, file: str) -> Any:
    def fail(message: str) -> MappingError:
        return MappingError([SourceProblem(file, at, message)])

    if content.kind == "Component" or content.schema_kind in ("Object", "Map", "Array"):
        return {"@value": json.dumps(value, sort_keys=True, separators=(",", ":")),
                "@type": RDF_JSON}
    if content.schema_kind == "Enum":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise fail("an enum value is a string or an integer")
        return value
    datatype = primitive_datatype(content.schema or "")
    if datatype is None:
        return value
    if datatype == XSD + "boolean":
        if not isinstance(value, bool):
            raise fail(f"{content.name} is a boolean")
        return value
    if datatype in (XSD + "double", XSD + "float", XSD + "int", XSD + "long"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"{content.name} is a number")
        if datatype in (XSD + "int", XSD + "long") and not float(value).is_integer():
            raise fail(f"{content.name} is an integer")
        text = repr(float(value)) if datatype in (XSD + "double", XSD + "float") \
            else str(int(value))
        return {"@value": text, "@type": datatype}
    if not isinstance(value, str):
        raise fail(f"{content.name} is a string")
    return {"@value": value, "@type": datatype}


def twin_to_adt(twin: dict[str, Any], info: InterfaceInfo) -> dict[str, Any]:
    """A semtwin twin body (from the twin API) as an ADT twin."""
    by_iri = {c.iri: c for c in info.contents.values()}
    out: dict[str, Any] = {"$dtId": twin["$id"], "$metadata": {"$model": info.iri}}
    for key, value in twin.get("properties", {}).items():
        content = by_iri.get(key)
        if content is not None:
            out[content.name] = _plain(value)
    return out


def relationship_to_adt(rel: dict[str, Any], info: InterfaceInfo) -> dict[str, Any]:
    by_iri = {c.iri: c for c in info.contents.values()}
    content = by_iri.get(rel["$relationshipName"])
    out: dict[str, Any] = {"$dtId": rel["$sourceId"], "$relationshipId": rel["$relationshipId"],
                           "$targetId": rel["$targetId"],
                           "$relationshipName": content.name if content else
                           rel["$relationshipName"]}
    props = {c.iri: c for c in content.properties.values()} if content else {}
    for key, value in rel.get("properties", {}).items():
        if key in props:
            out[props[key].name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and "@value" in value:
        local = re.split("[#:]", str(value.get("@type", "")))[-1]
        text = value["@value"]
        if local == "JSON":
            return json.loads(text)
        if local in ("double", "float"):
            return float(text)
        if local in ("int", "long", "integer"):
            return int(text)
        return text
    return value


def interface_info(model: Any, dtmi: str) -> InterfaceInfo | None:
    """What a twin of interface ``dtmi`` may hold, from a parsed model set (``extends``
    followed)."""
    from semtwin.mappings.dtdl.parser import Element, Ref

    root = model.elements.get(dtmi)
    if root is None or root.cls != "Interface":
        return None
    contents: dict[str, Content] = {}
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        for value in node.many("contents"):
            element = value if isinstance(value, Element) else model.elements.get(
                getattr(value, "iri", ""))
            if element is not None and element.one("name") not in contents:
                contents[element.one("name")] = _content(element, model)
        for parent in node.many("extends"):
            target = parent if isinstance(parent, Element) else model.elements.get(
                parent.iri if isinstance(parent, Ref) else "")
            if target is not None:
                stack.append(target)
    return InterfaceInfo(dtmi, contents)


def _content(element: Any, model: Any) -> Content:
    from semtwin.mappings.dtdl.parser import Element, Ref

    schema = element.one("schema")
    schema_iri, schema_kind = None, None
    if isinstance(schema, Ref):
        schema_iri = schema.iri
        target = model.elements.get(schema.iri)
        schema_kind = target.cls if target is not None else None
    elif isinstance(schema, Element):
        schema_iri, schema_kind = schema.id, schema.cls
    properties = {}
    for value in element.many("properties"):
        if isinstance(value, Element):
            properties[value.one("name")] = _content(value, model)
    return Content(element.id, element.one("name"), element.cls, schema_iri, schema_kind,
                   properties)
