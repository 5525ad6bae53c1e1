"""Asset Administration Shell (V3.0) to RDF and back, in the official ontology's terms.

Sources (JSON, XML, AASX) are read and checked with the BaSyx Python SDK, then written as
the AAS JSON form, which maps to RDF by the official rules (``mappings/aas/aas-v3.json``
is derived from the official ontology and JSON schema): identifiables take their ``id`` as
subject IRI (ids that are not absolute IRIs are resolved against a base), everything else is
a blank node typed by its class, each attribute is the property ``{ns}{Class}/{attr}`` of the
class that declares it, enumerations are the ontology's individuals, primitive values are
typed literals (``Property/value`` stays a string; its type is in ``valueType``). IRDIs and
other non-IRI semantic ids stay literals (``Key/value``).

The official RDF does not keep the order of list members (reference keys, collection values,
language strings): the *faithful* mode adds ``st:aasIndex`` to every list member, so that
the export gives back the same environment; the *official* mode leaves it out and produces
exactly the official RDF.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from semtwin.mappings import TABLES, MappingError, SourceFile, SourceProblem
from semtwin.rdf import BlankNode, Literal, NamedNode, Quad, term_value

RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD = "http://www.w3.org/2001/XMLSchema#"
AAS_INDEX = NamedNode("https://semtwin.dev/ns#aasIndex")
DEFAULT_BASE = "urn:aas:"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")
# Members of V3.0 drafts that the final V3.0 dropped (still found in real files).
_DRAFT_MEMBERS = ("valueId", "valueType", "kind")
_TOP = {"assetAdministrationShells": "AssetAdministrationShell", "submodels": "Submodel",
        "conceptDescriptions": "ConceptDescription"}


@cache
def table(root: Path = TABLES) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "aas" / "aas-v3.json").read_text("utf-8"))
    return data


def _ancestors(cls: str) -> list[str]:
    classes = table()["classes"]
    out, stack = [], [cls]
    while stack:
        current = stack.pop(0)
        if current in out or current not in classes:
            continue
        out.append(current)
        stack.extend(classes[current]["super"])
    return out


@cache
def _attribute(cls: str, attr: str) -> tuple[str, dict[str, str]] | None:
    props = table()["properties"]
    for ancestor in _ancestors(cls):
        key = f"{ancestor}/{attr}"
        if key in props:
            return key, props[key]
    return None


def id_iri(identifier: str, base: str) -> NamedNode:
    if _SCHEME.match(identifier):
        try:
            return NamedNode(identifier)
        except ValueError:
            pass
    return NamedNode(base + quote(identifier, safe=""))


# -- reading sources ---------------------------------------------------------------------------

MAX_UNPACKED_BYTES = 1 << 30
"""What an AASX package may unpack to at most, by the sizes its ZIP directory declares (Python's
``zipfile`` holds each part to its declared size): a few hundred kilobytes of zeros can
otherwise unpack to gigabytes."""
_CHUNK = 1 << 20


def read_environment(source: SourceFile) -> dict[str, Any]:
    """A source as the AAS JSON form. JSON is read as it is (BaSyx refuses some valid
    documents, such as years before 1, and normalizes others); XML and AASX are read by
    BaSyx and written back as JSON."""
    data = source.data

    def fail(message: str, where: str = "") -> MappingError:
        return MappingError([SourceProblem(source.name, where, message)])

    if data[:4] == b"PK\x03\x04" or source.name.lower().endswith(".aasx"):
        return _basyx(source, "aasx")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _basyx(source, "xml")
    try:
        environment = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise fail(f"not UTF-8 (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise fail(f"not JSON: {err.msg}", f"line {err.lineno}, column {err.colno}") from None
    try:
        check_environment(environment, source.name)
    except MappingError as err:
        # Documents from V3.0 drafts carry members the final V3.0 dropped (BaSyx's own
        # example does); BaSyx reads those and leaves the extra members out.
        if not all(any(f"{member!r} is not an attribute of" in p.message
                       for member in _DRAFT_MEMBERS) for p in err.problems):
            raise
        try:
            converted = _basyx(source, "json")
        except MappingError:
            raise err from None
        converted["$dropped"] = [f"{p.where}: {p.message}" for p in err.problems]
        return converted
    return environment  # type: ignore[no-any-return]


def _basyx(source: SourceFile, kind: str) -> dict[str, Any]:
    import tempfile

    from basyx.aas import model
    from basyx.aas.adapter import aasx
    from basyx.aas.adapter.json import (  # type: ignore[attr-defined]
        read_aas_json_file,
        write_aas_json_file,
    )
    from basyx.aas.adapter.xml import read_aas_xml_file  # type: ignore[attr-defined]

    from semtwin.xmlsafety import PROLOG_SCAN, check_xml, has_doctype

    def fail(message: str) -> MappingError:
        return MappingError([SourceProblem(source.name, "", message)])

    try:
        if kind == "aasx":
            if source.data[:4] != b"PK\x03\x04":
                raise fail("not an AASX package (an AASX is a ZIP/OPC package)")
            _screen_package(source.data, fail)
            store: Any = model.DictObjectStore()
            with tempfile.NamedTemporaryFile(suffix=".aasx") as tmp:
                tmp.write(source.data)
                tmp.flush()
                try:
                    reader = aasx.AASXReader(tmp.name)
                except ValueError:
                    raise fail("not an AASX package (not a ZIP/OPC package)") from None
                with reader:  # a part BaSyx cannot read is an error, not skipped
                    reader.read_into(store, _discarded_files(), failsafe=False)
            if not len(store):
                raise fail("the package holds no shell, submodel or concept description that "
                           "could be read (is its AAS part XML or JSON, and related from "
                           "aasx-origin?)")
        elif kind == "json":
            store = read_aas_json_file(io.StringIO(source.data.decode("utf-8-sig")),
                                       failsafe=False)
        else:
            if has_doctype(source.data[:PROLOG_SCAN]):
                raise fail("refused: an AAS XML document has no DTD (entity declarations are "
                           "a known attack)")
            check_xml(source.data, source.name)
            store = read_aas_xml_file(io.BytesIO(source.data), failsafe=False)
    except MappingError:
        raise
    except Exception as err:  # BaSyx raises many kinds, each with a message
        raise fail(f"not a valid AAS V3.0 {kind.upper()} document: {type(err).__name__}: "
                   f"{err}") from None
    out = io.StringIO()
    write_aas_json_file(out, store)
    environment: dict[str, Any] = json.loads(out.getvalue())
    return environment


def _screen_package(data: bytes, fail: Any) -> None:
    """Refuse a package that would unpack to more than ``MAX_UNPACKED_BYTES`` or whose XML
    parts (content types, relationships, AAS parts) declare a DTD, before BaSyx reads it."""
    import zipfile

    from semtwin.xmlsafety import PROLOG_SCAN, has_doctype

    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise fail("not an AASX package (not a ZIP/OPC package)") from None
    with package:
        parts = package.infolist()
        unpacked = sum(part.file_size for part in parts)
        if unpacked > MAX_UNPACKED_BYTES:
            raise fail(f"refused: the package would unpack to {unpacked:,} bytes, over the "
                       f"limit of {MAX_UNPACKED_BYTES:,}")
        for part in parts:
            if part.filename.lower().endswith((".xml", ".rels")):
                with package.open(part) as stream:
                    if has_doctype(stream.read(PROLOG_SCAN)):
                        raise fail(f"refused: the part {part.filename} declares a DTD (entity "
                                   "declarations are a known attack; AASX parts need none)")


def _discarded_files() -> Any:
    """A supplementary file container that reads each file through and keeps none: semtwin
    maps the AAS structure (a ``File`` keeps its path), so a package's documents and images
    are not held in memory."""
    from basyx.aas.adapter import aasx

    class Discarded(aasx.AbstractSupplementaryFileContainer):
        def add_file(self, name: str, file: Any, content_type: str) -> str:
            while file.read(_CHUNK):
                pass
            return name

        def get_content_type(self, name: str) -> str:
            raise KeyError(name)

        def get_sha256(self, name: str) -> bytes:
            raise KeyError(name)

        def write_file(self, name: str, file: Any) -> None:
            raise KeyError(name)

        def delete_file(self, name: str) -> None:
            raise KeyError(name)

        def __contains__(self, item: object) -> bool:
            return False

        def __iter__(self) -> Any:
            return iter(())

    return Discarded()


def check_environment(environment: Any, file: str) -> None:
    """Every member is an attribute of its class, every value of the right shape; problems
    name the JSON pointer."""
    problems: list[SourceProblem] = []
    if not isinstance(environment, dict):
        raise MappingError([SourceProblem(file, "", "an AAS environment is a JSON object")])
    for key, value in environment.items():
        if key == "$dropped":
            continue
        if key not in _TOP:
            problems.append(SourceProblem(file, f"/{key}", f"{key!r} is not a member of an "
                                          "AAS environment"))
            continue
        if not isinstance(value, list):
            problems.append(SourceProblem(file, f"/{key}", "must be an array"))
            continue
        for index, item in enumerate(value):
            _check(item, _TOP[key], f"/{key}/{index}", file, problems)
    if problems:
        raise MappingError(problems)


def _check(obj: Any, cls: str, pointer: str, file: str, problems: list[SourceProblem]) -> None:
    if len(problems) > 50:
        return
    if not isinstance(obj, dict):
        problems.append(SourceProblem(file, pointer, f"a {cls} is a JSON object"))
        return
    model_type = obj.get("modelType", cls)
    if model_type not in table()["classes"] or cls not in _ancestors(model_type):
        problems.append(SourceProblem(file, f"{pointer}/modelType",
                                      f"{model_type!r} is not a kind of {cls}"))
        return
    if model_type in table()["modelTypes"] and "modelType" not in obj:
        problems.append(SourceProblem(file, pointer, f"modelType is required (a {cls})"))
    if "Identifiable" in _ancestors(model_type) and not isinstance(obj.get("id"), str):
        problems.append(SourceProblem(file, f"{pointer}/id", "id (a string) is required"))
    for key, value in obj.items():
        if key == "modelType":
            continue
        at = f"{pointer}/{key}"
        found = _attribute(model_type, key)
        if found is None:
            problems.append(SourceProblem(file, at, f"{key!r} is not an attribute of "
                                          f"{model_type}"))
            continue
        _prop, spec = found
        if spec.get("list") and not isinstance(value, list):
            problems.append(SourceProblem(file, at, "must be an array"))
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            item_at = f"{at}/{index}" if isinstance(value, list) else at
            if "datatype" in spec:
                expected = bool if spec["datatype"] == "boolean" else (str, int, float)
                if isinstance(item, (dict, list)) or not isinstance(item, expected):
                    problems.append(SourceProblem(file, item_at, f"{key} is a "
                                                  f"{spec['datatype']} value"))
            elif "enum" in spec:
                if item not in table()["enums"][spec["enum"]]:
                    problems.append(SourceProblem(
                        file, item_at, f"{item!r} is not a {spec['enum']} "
                        f"({', '.join(sorted(table()['enums'][spec['enum']])[:8])}...)"))
            else:
                _check(item, spec["class"], item_at, file, problems)


# -- JSON -> RDF ------------------------------------------------------------------------------

def environment_to_rdf(environment: dict[str, Any], *, base: str = DEFAULT_BASE,
                       faithful: bool = True) -> list[Quad]:
    out: list[Quad] = []
    used: dict[str, str] = {}
    for key, cls in _TOP.items():
        for item in environment.get(key, []) or []:
            subject = None
            ident = item.get("id") if isinstance(item, dict) else None
            if faithful and isinstance(ident, str):
                if ident in used and used[ident] != cls:
                    # The same id on two identifiables (a real IDTA template does this):
                    # the official mapping would merge them; keep them apart.
                    subject = NamedNode(f"{id_iri(ident, base).value}#{cls}")
                used.setdefault(ident, cls)
            _node(item, cls, base, faithful, out, subject)
    return out


def id_collisions(environment: dict[str, Any]) -> list[str]:
    """Ids carried by more than one identifiable (the AAS requires them unique)."""
    seen: dict[str, str] = {}
    out = []
    for key, cls in _TOP.items():
        for item in environment.get(key, []) or []:
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, str) and ident in seen:
                out.append(f"{ident} is the id of a {seen[ident]} and a {cls}")
            elif isinstance(ident, str):
                seen[ident] = cls
    return out


def _node(obj: dict[str, Any], cls: str, base: str, faithful: bool,
          out: list[Quad], subject: NamedNode | None = None) -> NamedNode | BlankNode:
    cls = obj.get("modelType", cls)
    ns = table()["namespace"]
    node: NamedNode | BlankNode = subject or (
        id_iri(obj["id"], base) if "id" in obj and "Identifiable" in _ancestors(cls)
        else BlankNode())
    out.append(Quad(node, RDF_TYPE, NamedNode(ns + cls)))
    for key, value in obj.items():
        if key == "modelType" or value is None:
            continue
        found = _attribute(cls, key)
        if found is None:
            continue
        prop, spec = found
        predicate = NamedNode(ns + prop)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            term = _term(item, spec, base, faithful, out)
            out.append(Quad(node, predicate, term))
            if faithful and isinstance(value, list) and isinstance(term, BlankNode):
                out.append(Quad(term, AAS_INDEX, Literal(index)))
    return node


def _term(value: Any, spec: dict[str, str], base: str, faithful: bool,
          out: list[Quad]) -> Any:
    ns = table()["namespace"]
    if "datatype" in spec:
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return Literal(text, datatype=NamedNode(XSD + spec["datatype"]))
    if "enum" in spec:
        return NamedNode(ns + table()["enums"][spec["enum"]][value])
    return _node(value, spec["class"], base, faithful, out)


# -- RDF -> JSON ------------------------------------------------------------------------------

def rdf_to_environment(quads: list[Quad], *, base: str = DEFAULT_BASE) -> dict[str, Any]:
    ns = table()["namespace"]
    by_subject: dict[Any, list[Quad]] = defaultdict(list)
    for q in quads:
        by_subject[q.subject].append(q)
    reverse_enums = {f"{ns}{iri}": value for enum in table()["enums"].values()
                     for value, iri in enum.items()}
    model_types = set(table()["modelTypes"])
    env: dict[str, Any] = {}

    def cls_of(subject: Any) -> str | None:
        for q in by_subject.get(subject, []):
            if q.predicate == RDF_TYPE and term_value(q.object).startswith(ns):
                return str(term_value(q.object)[len(ns):])
        return None

    def to_json(subject: Any) -> dict[str, Any]:
        cls = cls_of(subject) or ""
        obj: dict[str, Any] = {}
        lists: dict[str, list[tuple[int, str, Any]]] = defaultdict(list)
        for q in by_subject.get(subject, []):
            predicate = term_value(q.predicate)
            if not predicate.startswith(ns) or "/" not in predicate[len(ns):]:
                continue
            prop = predicate[len(ns):]
            spec = table()["properties"].get(prop)
            if spec is None:
                continue
            attr = prop.split("/", 1)[1]
            if "datatype" in spec:
                value: Any = term_value(q.object)
                if spec["datatype"] == "boolean":
                    value = value == "true"
            elif "enum" in spec:
                value = reverse_enums.get(term_value(q.object), term_value(q.object))
            else:
                value = to_json(q.object)
            index = next((int(term_value(x.object)) for x in by_subject.get(q.object, [])
                          if x.predicate == AAS_INDEX), 1 << 30)
            if spec.get("list"):
                lists[attr].append((index, json.dumps(value, sort_keys=True), value))
            else:
                obj[attr] = value
        for attr, members in lists.items():
            obj[attr] = [v for _, _, v in sorted(members, key=lambda m: (m[0], m[1]))]
        if cls in model_types:
            obj["modelType"] = cls
        return obj

    for subject in by_subject:
        cls = cls_of(subject)
        for key, top in _TOP.items():
            if cls == top:
                env.setdefault(key, []).append(to_json(subject))
    for key in env:
        env[key].sort(key=lambda item: str(item.get("id", "")))
    return env
