"""Parse and validate DTDL v2/v3 documents by the language rules.

Each document is JSON (an Interface, or an array of them). Elements are read against the
language tables: ``@context``, ``@id`` (DTMI syntax, reserved prefixes, uniqueness),
``@type`` (one material class, cotypes), each property's constraints (counts, datatypes,
patterns, lengths, ranges, allowed values, uniqueness among siblings, localizable strings,
JSON-LD value objects), then across documents: references resolve to elements of the right
class, ``extends`` limits and cycles, inherited name clashes, Component and schema nesting
rules, enum value datatypes, and the per-interface size limit. Every problem names the file
and the JSON pointer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from semtwin.mappings import SourceFile, SourceProblem
from semtwin.mappings.dtdl.language import (
    CONTEXTS,
    Constraint,
    Language,
    dtmi_kind,
    is_term,
    language,
)

_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_KEYWORDS = {"@context", "@id", "@type"}


@dataclass
class Element:
    """A DTDL element: its identifier (given or minted), class, cotypes and properties.

    Property values are JSON scalars for literals, ``Element`` for inline elements and
    ``Ref`` for references by identifier."""

    id: str
    cls: str
    lang: Language
    file: str
    pointer: str
    explicit_id: bool
    cotypes: list[str] = field(default_factory=list)
    props: dict[str, list[Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    parent: Element | None = None
    size: int = 0

    def one(self, name: str) -> Any:
        values = self.props.get(name, [])
        return values[0] if values else None

    def many(self, name: str) -> list[Any]:
        return self.props.get(name, [])


@dataclass(frozen=True)
class Ref:
    """A reference by DTMI (to an element of this model set or a built-in instance)."""

    iri: str
    pointer: str


@dataclass(frozen=True)
class LangString:
    value: str
    language: str


@dataclass
class ParseOptions:
    allow_undefined_extensions: bool = False


@dataclass
class ModelSet:
    elements: dict[str, Element]
    roots: list[Element]
    problems: list[SourceProblem]
    unresolved: set[str]
    contexts: dict[str, list[str]] = field(default_factory=dict)


class _Context:
    def __init__(self, lang: Language, undefined_extension: bool,
                 extension_terms: dict[str, str]) -> None:
        self.lang = lang
        self.undefined_extension = undefined_extension
        self.extension_terms = extension_terms


class DtdlParser:
    def __init__(self, options: ParseOptions | None = None) -> None:
        self.options = options or ParseOptions()
        self.problems: list[SourceProblem] = []
        self.elements: dict[str, Element] = {}
        self.roots: list[Element] = []
        self.contexts: dict[str, list[str]] = {}
        self._file = ""
        self._restrict_keywords = True

    # -- entry points -----------------------------------------------------------------------
    def parse(self, files: list[SourceFile]) -> ModelSet:
        for source in files:
            self._file = source.name
            try:
                doc = json.loads(source.data.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                self._problem("", f"not JSON: {err}")
                continue
            self.parse_document(doc, source.name, len(source.data))
        unresolved = _check_model(self)
        return ModelSet(self.elements, self.roots, self.problems, unresolved, self.contexts)

    def parse_document(self, doc: Any, name: str, size: int) -> None:
        self._file = name
        if isinstance(doc, dict):
            items: list[tuple[str, Any]] = [("", doc)]
        elif isinstance(doc, list):
            items = [(f"/{i}", d) for i, d in enumerate(doc)]
        else:
            self._problem("", "a DTDL document is a JSON object or an array of objects")
            return
        for pointer, item in items:
            if not isinstance(item, dict):
                self._problem(pointer, "a DTDL document is a JSON object or an array of "
                              "objects")
                continue
            ctx = self._context(item.get("@context", _ABSENT), pointer, top=True)
            if ctx is None:
                continue
            element = self._element(item, ctx, pointer, expected=("Interface",),
                                    inferable=False, parent=None, minted=None,
                                    iri_only=True)
            if element is not None:
                element.size = len(json.dumps(item, ensure_ascii=False).encode())
                if element.cls != "Interface":
                    self._problem(pointer, f"a top-level element must be an Interface, not "
                                  f"{element.cls}")
                self.roots.append(element)
                raw = item.get("@context")
                self.contexts[element.id] = [str(c) for c in raw] if isinstance(raw, list) \
                    else [str(raw)]

    # -- helpers ----------------------------------------------------------------------------
    def _problem(self, pointer: str, message: str) -> None:
        self.problems.append(SourceProblem(self._file, pointer or "/", message))

    def _context(self, value: Any, pointer: str, top: bool,
                 inherited: _Context | None = None) -> _Context | None:
        where = f"{pointer}/@context"
        if value is _ABSENT:
            if top:
                self._problem(pointer, "a top-level element needs @context "
                              "(dtmi:dtdl:context;2 or ;3)")
            return inherited
        values = value if isinstance(value, list) else [value]
        if value == [] and not top and inherited is not None:
            return inherited
        if not isinstance(value, (str, list)) or not values or not all(
                isinstance(v, str) for v in values):
            self._problem(where, "@context is a DTMI string or an array of them")
            return None
        dtdl = [v for v in values if v in CONTEXTS]
        if not dtdl:
            if inherited is not None and not top:
                dtdl_version = inherited.lang.version
            else:
                self._problem(where, "@context must start with dtmi:dtdl:context;2 or ;3")
                return None
        else:
            dtdl_version = CONTEXTS[dtdl[-1]]
            if values[0] not in CONTEXTS and dtdl_version == 3:
                self._problem(where, "the DTDL context must come first")
                return None
            if dtdl_version == 2 and values[0] not in CONTEXTS:
                self._problem(where, "the DTDL context must come first")
                return None
        if len({CONTEXTS[v] for v in dtdl}) > 1:
            last = values.index(dtdl[-1])
            if any(v not in CONTEXTS for v in values[:last]):
                self._problem(where, "the DTDL context must come first")
                return None
        lang = language(dtdl_version)
        if inherited is not None and not top and lang.version != inherited.lang.version:
            self._problem(where, "a nested @context must keep the document's DTDL version")
            return None
        undefined = inherited.undefined_extension if inherited else False
        terms = dict(inherited.extension_terms) if inherited else {}
        for v in values:
            if v in CONTEXTS:
                continue
            if v.startswith("dtmi:dtdl:context;"):
                self._problem(where, f"{v} is not a DTDL version this server knows (2, 3)")
                return None
            if dtmi_kind(v, lang) != "valid" or ";" not in v:
                self._problem(where, f"context {v!r} is not a DTMI with a version")
                return None
            if v in lang.extensions:
                terms.update(lang.extensions[v])
            elif any(v.split(";")[0] == k.split(";")[0] for k in lang.extensions):
                self._problem(where, f"context {v!r}: no such version of this extension")
                return None
            elif self.options.allow_undefined_extensions or \
                    lang.global_["allowUndefinedExtensionsByDefault"]:
                undefined = True
            else:
                self._problem(where, f"context {v!r} is not a known language extension")
                return None
        return _Context(lang, undefined, terms)

    # -- elements ---------------------------------------------------------------------------
    def _element(self, obj: dict[str, Any], ctx: _Context, pointer: str,
                 expected: tuple[str, ...], inferable: bool, parent: Element | None,
                 minted: str | None, iri_only: bool) -> Element | None:
        if "@context" in obj and parent is not None:
            nested = self._context(obj["@context"], pointer, top=False, inherited=ctx)
            if nested is None:
                return None
            ctx = nested
        lang = ctx.lang
        strict = lang.global_["restrictKeywords"]
        for key in obj:
            if key == "@graph" or (strict and key.startswith("@") and key not in _KEYWORDS):
                self._problem(f"{pointer}/{_esc(key)}", f"keyword {key} is not allowed in "
                              "a DTDL element")
                return None
        # @type
        raw_type = obj.get("@type", _ABSENT)
        if raw_type is _ABSENT:
            if not inferable or len(expected) != 1:
                self._problem(pointer, "@type is required")
                return None
            types = [expected[0]]
        elif isinstance(raw_type, str):
            types = [raw_type]
        elif isinstance(raw_type, list) and raw_type and all(isinstance(t, str)
                                                              for t in raw_type):
            types = raw_type
        else:
            self._problem(f"{pointer}/@type", "@type is a string or an array of strings")
            return None
        material: list[str] = []
        cotypes: list[str] = []
        types = [lang.iri_to_term[t] if t in lang.iri_to_term and lang.iri_to_term[t] in
                 lang.semantic_types else t for t in types]
        for t in types:
            cls = lang.class_of_term(t) or lang.class_of_iri(t)
            if cls is not None and lang.classes[cls].material:
                if cls not in material:
                    material.append(cls)
                continue
            if cls is not None:
                self._problem(f"{pointer}/@type", f"{t} is abstract; it cannot be a type")
                return None
            if not self._cotype(t, ctx, pointer):
                return None
            cotypes.append(t)
        if len(material) != 1:
            self._problem(f"{pointer}/@type", "@type must name exactly one DTDL class "
                          f"(found {', '.join(material) or 'none'})")
            return None
        cls = material[0]
        if expected and not any(lang.is_a(cls, e) for e in expected):
            self._problem(f"{pointer}/@type", f"a {cls} is not allowed here (expected "
                          f"{' or '.join(expected)})")
            return None
        for t in cotypes:
            if t in lang.semantic_types or ctx.extension_terms.get(t, "").startswith(
                    "dtmi:dtdl:extension:quantitativeTypes"):
                allowed = lang.classes["SemanticType"].cotype_of
                if not any(lang.is_a(cls, a) for a in allowed):
                    self._problem(f"{pointer}/@type", f"semantic type {t} cannot apply to "
                                  f"a {cls}")
                    return None
        # @id
        explicit = "@id" in obj
        if explicit:
            ident = obj["@id"]
            if not isinstance(ident, str):
                self._problem(f"{pointer}/@id", "@id is a DTMI string")
                return None
            if not self._check_dtmi(ident, f"{pointer}/@id", lang, defining=True):
                return None
            limit = lang.classes[cls].id_max_length
            if limit and len(ident) > limit:
                self._problem(f"{pointer}/@id", f"an {cls} identifier has at most {limit} "
                              "characters")
                return None
        else:
            if iri_only:
                self._problem(pointer, f"this {cls} needs an @id")
                return None
            ident = minted or "dtmi:anonymous:_;1"
        element = Element(ident, cls, lang, self._file, pointer, explicit, cotypes,
                          parent=parent)
        if explicit:
            if ident in self.elements:
                self._problem(f"{pointer}/@id", f"identifier {ident} is defined twice")
                return None
            self.elements[ident] = element
        elif minted is not None and minted not in self.elements:
            self.elements[minted] = element
        if not self._properties(obj, element, ctx):
            return None
        return element

    def _cotype(self, t: str, ctx: _Context, pointer: str) -> bool:
        lang = ctx.lang
        kind = dtmi_kind(t, lang)
        never = lang.global_["neverAllow"].get("asCotype", [])
        always = lang.global_["alwaysAllow"].get("asCotype", [])
        if t in lang.semantic_types or t in ctx.extension_terms:
            return True
        if kind == "invalid":
            self._problem(f"{pointer}/@type", f"{t!r} is not a valid DTMI")
            return False
        if kind == "other":
            if "notDtmiNorTerm" in never or "notDtmiNorTerm" not in always:
                self._problem(f"{pointer}/@type", f"{t!r} is neither a DTMI nor a term")
                return False
            return True
        if kind == "valid" and lang.class_of_iri(t) is None and t.startswith("dtmi:dtdl:"):
            self._problem(f"{pointer}/@type", f"{t} is not a DTDL v{lang.version} class")
            return False
        if t in lang.terms or (kind == "valid" and not ctx.undefined_extension):
            self._problem(f"{pointer}/@type", f"{t!r} is not a class or cotype this "
                          "element can have")
            return False
        if "undefinedTerm" in always or ctx.undefined_extension:
            return True
        self._problem(f"{pointer}/@type", f"{t!r} is not defined by the DTDL context or a "
                      "known extension")
        return False

    def _check_dtmi(self, text: str, pointer: str, lang: Language, defining: bool) -> bool:
        if dtmi_kind(text, lang) != "valid" or not lang.id_pattern.match(text):
            self._problem(pointer, f"{text!r} is not a valid DTMI")
            return False
        if defining and any(text.startswith(p) for p in lang.global_["reservedPrefixes"]):
            self._problem(pointer, f"{text} uses a reserved prefix (dtmi:dtdl:, "
                          "dtmi:standard:)")
            return False
        return True

    # -- properties -------------------------------------------------------------------------
    def _properties(self, obj: dict[str, Any], element: Element, ctx: _Context) -> bool:
        lang = ctx.lang
        self._restrict_keywords = bool(lang.global_["restrictKeywords"])
        constraints = lang.constraints(element.cls)
        seen: dict[str, str] = {}
        has_semantic = any(t in lang.semantic_types or t in ctx.extension_terms
                           for t in element.cotypes)
        has_undefined_cotype = any(t not in lang.semantic_types and t not in
                                   ctx.extension_terms for t in element.cotypes)
        ok = True
        for key, value in obj.items():
            if key.startswith("@"):
                continue
            where = f"{element.pointer}/{_esc(key)}"
            name = key if key in lang.property_names and key in lang.terms else \
                lang.property_of_iri(key)
            if name is not None and name in seen:
                self._problem(where, f"{name} is given twice ({seen[name]!r} and {key!r})")
                return False
            if name is not None:
                seen[name] = key
            if value is None:
                self._problem(where, f"{key} must not be null")
                ok = False
                continue
            if name is not None and name in constraints:
                if not self._values(value, constraints[name], element, ctx, where):
                    ok = False
                continue
            if (name == "unit" and has_semantic) or (
                    key == "unit" and "unit" in ctx.extension_terms):
                if not self._unit(value, element, ctx, where):
                    ok = False
                continue
            if key in ctx.extension_terms and element.cotypes:
                element.extra[key] = value
                continue
            if not self._undefined_property(key, value, name, element, ctx, where,
                                            has_undefined_cotype):
                ok = False
        if not ok:
            return False
        if has_semantic and not self._semantic(element, ctx):
            return False
        for name, c in constraints.items():
            count = len(element.props.get(name, []))
            if count < c.min:
                self._problem(element.pointer, f"a {element.cls} needs {name}")
                return False
            if c.max is not None and count > c.max:
                what = "cannot have" if c.max == 0 else f"has at most {c.max}"
                self._problem(element.pointer, f"a {element.cls} {what} {name}")
                return False
        return True

    def _semantic_types(self, element: Element, ctx: _Context) -> list[str]:
        lang = ctx.lang
        out = []
        for t in element.cotypes:
            if t in lang.semantic_types or ctx.extension_terms.get(t, "").startswith(
                    "dtmi:dtdl:extension:quantitativeTypes:v1:class:"):
                out.append(t)
        return out

    def _unit(self, value: Any, element: Element, ctx: _Context, where: str) -> bool:
        lang = ctx.lang
        if isinstance(value, str):
            iri = ctx.extension_terms.get(value) or lang.terms.get(value) or value
            name = iri.split(":")[-1].split(";")[0]
            if iri.startswith(("dtmi:standard:unit:",
                               "dtmi:dtdl:extension:quantitativeTypes:v1:unit:")):
                element.extra["unit"] = name
                return True
        self._problem(where, f"{value!r} is not a DTDL unit")
        return False

    def _semantic(self, element: Element, ctx: _Context) -> bool:
        semantic = self._semantic_types(element, ctx)
        if not semantic:
            return True
        if len(semantic) > 1:
            self._problem(f"{element.pointer}/@type", "at most one semantic type "
                          f"({', '.join(semantic)})")
            return False
        if "unit" not in element.extra:
            self._problem(element.pointer, f"semantic type {semantic[0]} needs a unit")
            return False
        allowed = ctx.lang.semantic_units.get(semantic[0])
        if allowed and element.extra["unit"] not in allowed:
            self._problem(f"{element.pointer}/unit", f"{element.extra['unit']} is not a unit "
                          f"of {semantic[0]}")
            return False
        schema = element.one("schema")
        numeric = ("double", "float", "integer", "long")
        if element.cls in ("Property", "Telemetry", "Field", "MapValue", "CommandPayload",
                           "CommandRequest", "CommandResponse") and not (
                isinstance(schema, Ref) and schema.iri.startswith("dtmi:dtdl:instance:Schema:")
                and schema.iri.split(":")[-1].split(";")[0] in numeric):
            self._problem(f"{element.pointer}/schema", f"a {semantic[0]} needs a numeric "
                          "schema (double, float, integer, long)")
            return False
        return True

    def _undefined_property(self, key: str, value: Any, name: str | None, element: Element,
                            ctx: _Context, where: str, has_undefined_cotype: bool) -> bool:
        lang = ctx.lang
        kind = dtmi_kind(key, lang)
        if name is not None or (kind == "term" and key in lang.terms) or kind == "valid":
            category = "irrelevantDtmiOrTerm"
        elif kind == "invalid":
            category = "invalidDtmi"
        elif kind == "term":
            category = "undefinedTerm"
        else:
            category = "notDtmiNorTerm"
        always = lang.global_["alwaysAllow"].get("asProperty", [])
        never = lang.global_["neverAllow"].get("asProperty", [])
        needs_cotype = lang.global_.get("propertyNeedsCotype", True)
        if category in always and category not in never and (
                element.cotypes or not needs_cotype):
            return True
        if category not in never and has_undefined_cotype and (
                ctx.undefined_extension or "undefinedTerm" in
                lang.global_["alwaysAllow"].get("asCotype", [])) and name is None:
            element.extra[key] = value
            return True
        reason = {"irrelevantDtmiOrTerm": f"{key!r} is not a property of a {element.cls}",
                  "invalidDtmi": f"{key!r} is not a valid DTMI",
                  "undefinedTerm": f"{key!r} is not a DTDL term",
                  "notDtmiNorTerm": f"{key!r} is neither a DTMI nor a term"}[category]
        self._problem(where, reason)
        return False

    def _values(self, value: Any, c: Constraint, element: Element, ctx: _Context,
                where: str) -> bool:
        if c.datatype == "langString":
            return self._lang_strings(value, c, element, where)
        items = value if isinstance(value, list) else [value]
        out: list[Any] = []
        for index, item in enumerate(items):
            at = f"{where}/{index}" if isinstance(value, list) else where
            if item is None:
                self._problem(at, f"{c.name} must not be null")
                return False
            if c.is_literal:
                literal = self._literal(item, c, element, at)
                if literal is _BAD:
                    return False
                out.append(literal)
            else:
                target = self._object(item, c, element, ctx, at, index)
                if target is None:
                    return False
                out.append(target)
        element.props.setdefault(c.name, []).extend(out)
        for unique in c.unique:
            keys: dict[Any, int] = {}
            for item in out:
                if isinstance(item, Element):
                    v = item.one(unique)
                    if v is None:
                        continue
                    v = (type(v).__name__, v)
                    if v in keys:
                        self._problem(where, f"two {c.name} share {unique} {v[1]!r}")
                        return False
                    keys[v] = 1
        return True

    def _literal(self, item: Any, c: Constraint, element: Element, at: str) -> Any:
        if isinstance(item, dict):
            item = self._value_object(item, c, at)
            if item is _BAD:
                return _BAD
        dt = c.datatype
        if dt == "string" or (dt is None and c.pattern):
            if not isinstance(item, str):
                self._problem(at, f"{c.name} is a string")
                return _BAD
        elif dt == "integer":
            if not isinstance(item, int) or isinstance(item, bool):
                self._problem(at, f"{c.name} is an integer")
                return _BAD
            if c.min_inclusive is not None and item < c.min_inclusive:
                self._problem(at, f"{c.name} is at least {c.min_inclusive}")
                return _BAD
            if c.max_inclusive is not None and item > c.max_inclusive:
                self._problem(at, f"{c.name} is at most {c.max_inclusive}")
                return _BAD
        elif dt == "boolean":
            if not isinstance(item, bool):
                self._problem(at, f"{c.name} is true or false")
                return _BAD
        elif not isinstance(item, (str, int)) or isinstance(item, bool):
            self._problem(at, f"{c.name} is a string or an integer")
            return _BAD
        if isinstance(item, str):
            if c.max_length is not None and len(item) > c.max_length:
                self._problem(at, f"{c.name} has at most {c.max_length} characters")
                return _BAD
            if c.pattern and not re.search(c.pattern, item):
                self._problem(at, f"{c.name} {item!r} does not match {c.pattern}")
                return _BAD
        return item

    def _value_object(self, item: dict[str, Any], c: Constraint, at: str) -> Any:
        """A JSON-LD value object ``{"@value": v, "@type": "xsd:..."}``."""
        strict = self._restrict_keywords
        if any(k in item for k in ("@id", "@context", "@graph")) or (strict and set(item) - {
                "@value", "@type"}):
            self._problem(at, "a value object has only @value and @type")
            return _BAD
        if "@value" not in item:
            self._problem(at, "a value object needs @value")
            return _BAD
        expected = {"string": "string", "integer": "integer",
                    "boolean": "boolean"}.get(c.datatype or "")
        given = item.get("@type", _ABSENT)
        if given is None:
            self._problem(at, "@type must not be null")
            return _BAD
        if given is not _ABSENT and expected:
            names = given if isinstance(given, list) else [given]
            xsd = "http://www.w3.org/2001/XMLSchema#"
            if len(names) != 1 or names[0] not in (f"xsd:{expected}", xsd + expected):
                self._problem(at, f"@type must be xsd:{expected}")
                return _BAD
        return item["@value"]

    def _lang_strings(self, value: Any, c: Constraint, element: Element, where: str) -> bool:
        out: list[LangString] = []
        default = "en"
        if isinstance(value, str):
            out.append(LangString(value, default))
        elif isinstance(value, dict):
            for tag, text in value.items():
                if not _LANG_TAG.match(tag):
                    self._problem(f"{where}/{_esc(tag)}", f"{tag!r} is not a language tag")
                    return False
                if not isinstance(text, str):
                    self._problem(f"{where}/{_esc(tag)}", "a localized text is a string")
                    return False
                out.append(LangString(text, tag))
        elif isinstance(value, list):
            defaults = 0
            for index, item in enumerate(value):
                at = f"{where}/{index}"
                if isinstance(item, str):
                    defaults += 1
                    out.append(LangString(item, default))
                    continue
                if not isinstance(item, dict):
                    self._problem(at, "a localized text is a string or "
                                  '{"@value", "@language"}')
                    return False
                if set(item) - {"@value", "@language"}:
                    self._problem(at, 'a localized text has only "@value" and "@language"')
                    return False
                text, tag = item.get("@value"), item.get("@language")
                if not isinstance(text, str):
                    self._problem(at, "@value must be a string")
                    return False
                if tag is None:
                    defaults += 1
                    tag = default
                if not isinstance(tag, str) or not _LANG_TAG.match(tag):
                    self._problem(at, f"{tag!r} is not a language tag")
                    return False
                out.append(LangString(text, tag))
            if defaults > 1:
                self._problem(where, "only one text may omit its language")
                return False
        else:
            self._problem(where, f"{c.name} is a string or a map of language to string")
            return False
        tags = [s.language.lower() for s in out]
        if (c.unique and len(set(tags)) != len(tags)) or len(set(tags)) != len(tags):
            self._problem(where, f"{c.name} has two texts in one language")
            return False
        for s in out:
            if c.max_length is not None and len(s.value) > c.max_length:
                self._problem(where, f"{c.name} has at most {c.max_length} characters")
                return False
        element.props.setdefault(c.name, []).extend(out)
        return True

    def _object(self, item: Any, c: Constraint, element: Element, ctx: _Context, at: str,
                index: int) -> Element | Ref | None:
        lang = ctx.lang
        if isinstance(item, str):
            instance = lang.instance(item)
            if instance is not None:
                if c.allowed and lang.iri_to_term.get(instance) not in c.allowed and not any(
                        instance.startswith(f"dtmi:dtdl:instance:Schema:{a}") for a in
                        c.allowed):
                    self._problem(at, f"{c.name} must be one of {', '.join(c.allowed)}")
                    return None
                return Ref(instance, at)
            if c.allowed:
                self._problem(at, f"{c.name} must be one of {', '.join(c.allowed)}")
                return None
            kind = dtmi_kind(item, lang)
            if kind != "valid" or not lang.id_pattern.match(item):
                what = "a DTMI or a DTDL term" if kind != "term" else "a known DTDL term"
                self._problem(at, f"{item!r} is not {what}")
                return None
            return Ref(item, at)
        if not isinstance(item, dict):
            self._problem(at, f"{c.name} is an element (object) or a DTMI")
            return None
        if c.allowed:
            self._problem(at, f"{c.name} must be one of {', '.join(c.allowed)}")
            return None
        minted = _mint(element.id, c, item, index)
        return self._element(item, ctx, at, expected=c.classes, inferable=c.type_inferable,
                             parent=element, minted=minted, iri_only=c.node_kind == "IRI")




class _Bad:
    pass


_BAD = _Bad()
_ABSENT = _Bad()


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _mint(parent: str, c: Constraint, item: dict[str, Any], index: int) -> str:
    """DTDLParser's identifiers for anonymous elements: ``{parent}:_{prop}:__{name}`` for
    named ones, ``{parent}:_{prop}`` (plus the position when several) otherwise."""
    base, _, version = parent.partition(";")
    segment = item.get(c.segment) if c.segment else None
    if isinstance(segment, str) and is_term(segment):
        return f"{base}:_{c.name}:__{segment};{version}"
    suffix = f"_{index}" if c.max != 1 else ""
    return f"{base}:_{c.name}{suffix};{version}"


def _check_model(parser: DtdlParser) -> set[str]:
    from semtwin.mappings.dtdl.checks import check_model

    return check_model(parser)


__all__ = [
    "DtdlParser",
    "Element",
    "LangString",
    "ModelSet",
    "ParseOptions",
    "Ref",
]
