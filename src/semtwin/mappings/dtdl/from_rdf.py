"""RDF back to DTDL: rebuild each Interface document from the DTDL layer of a graph (see
``to_rdf``). Elements defined inside an interface are written inline where they were
defined; references stay DTMIs; built-in instances and classes go back to their terms."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from semtwin.mappings.dtdl.language import language
from semtwin.mappings.dtdl.to_rdf import DTDL_CONTEXT, DTDL_COTYPE, DTDL_EXTRA, DTDL_PARENT, RDF
from semtwin.rdf import Literal, NamedNode, Quad, term_value

_CLASS = re.compile(r"^dtmi:dtdl:class:([A-Za-z]+);([23])$")
_PROPERTY = re.compile(r"^dtmi:dtdl:property:([A-Za-z]+);([23])$")
_ORDERED = ("@context", "@id", "@type", "name", "displayName", "description", "comment")


def interfaces_from_triples(quads: Iterable[Quad]) -> list[dict[str, Any]]:
    by_subject: dict[str, list[Quad]] = defaultdict(list)
    for q in quads:
        if isinstance(q.subject, NamedNode):
            by_subject[term_value(q.subject)].append(q)
    roots = []
    for subject, statements in by_subject.items():
        if any(q.predicate == DTDL_CONTEXT for q in statements):
            roots.append(subject)
    children: dict[str, set[str]] = defaultdict(set)
    for subject, statements in by_subject.items():
        for q in statements:
            if q.predicate == DTDL_PARENT and isinstance(q.object, NamedNode):
                children[term_value(q.object)].add(subject)
    return [_document(root, by_subject, children, top=True) for root in sorted(roots)]


def _document(subject: str, by_subject: dict[str, list[Quad]],
              children: dict[str, set[str]], top: bool) -> dict[str, Any]:
    statements = by_subject[subject]
    version = 3
    types: list[str] = []
    cotypes: list[str] = []
    contexts: list[str] = []
    for q in statements:
        if term_value(q.predicate) == RDF + "type":
            m = _CLASS.match(term_value(q.object))
            if m:
                version = int(m.group(2))
                types.insert(0, m.group(1))
            elif term_value(q.object).startswith("dtmi:"):
                cotypes.append(term_value(q.object))
        elif q.predicate == DTDL_CONTEXT:
            contexts.append(term_value(q.object))
        elif q.predicate == DTDL_COTYPE:
            cotypes.append(term_value(q.object))
    lang = language(version)
    extension_terms = {iri: term for ext in lang.extensions.values()
                       for term, iri in ext.items()}
    doc: dict[str, Any] = {}
    if top:
        doc["@context"] = _context_value(contexts, version)
    if lang.id_pattern.match(subject):
        doc["@id"] = subject
    all_types = types + [lang.iri_to_term.get(c) or extension_terms.get(c) or c
                         for c in cotypes]
    doc["@type"] = all_types[0] if len(all_types) == 1 else all_types
    values: dict[str, list[Any]] = defaultdict(list)
    for q in statements:
        m = _PROPERTY.match(term_value(q.predicate))
        if m:
            name = m.group(1)
            values[name].append(_value(name, q.object, subject, by_subject, children, lang,
                                       extension_terms))
        elif q.predicate == DTDL_EXTRA:
            doc.update(json.loads(term_value(q.object)))
    for name, items in values.items():
        if name in ("displayName", "description"):
            texts = {v[1]: v[0] for v in items}
            doc[name] = texts["en"] if set(texts) == {"en"} else texts
            continue
        constraint = lang.constraints(_class_of(types, lang)).get(name)
        single = (constraint is not None and constraint.max == 1) or name == "unit"
        items = sorted(items, key=_sort_key)
        doc[name] = items[0] if single and len(items) == 1 else items
    return {k: doc[k] for k in sorted(doc, key=lambda k: (_ORDERED.index(k)
                                                         if k in _ORDERED else 99, k))}


def _class_of(types: list[str], lang: Any) -> str:
    return types[0] if types else "Entity"


def _sort_key(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name", value.get("@id", "")))
    return json.dumps(value, sort_keys=True)


def _context_value(contexts: list[str], version: int) -> str | list[str]:
    dtdl = f"dtmi:dtdl:context;{version}"
    ordered = [dtdl, *sorted(c for c in contexts if c != dtdl)]
    return ordered[0] if len(ordered) == 1 else ordered


def _value(name: str, term: Any, parent: str, by_subject: dict[str, list[Quad]],
           children: dict[str, set[str]], lang: Any,
           extension_terms: dict[str, str]) -> Any:
    if isinstance(term, Literal):
        if term.language:
            return (term.value, term.language)
        datatype = term.datatype.value
        if datatype.endswith("#boolean"):
            return term.value == "true"
        if datatype.endswith(("#integer", "#int", "#long")):
            return int(term.value)
        return term.value
    iri = term.value
    if iri in children.get(parent, set()):
        return _document(iri, by_subject, children, top=False)
    return lang.iri_to_term.get(iri) or extension_terms.get(iri) or iri
