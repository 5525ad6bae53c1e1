"""What the active models say about their properties' values, for the twin JSON's JSON-LD
context: a property whose values are IRIs (``owl:ObjectProperty``, an ``rdfs:range`` that is a
class, a property shape with ``sh:class`` or ``sh:nodeKind sh:IRI``) is coerced to ``@id``; one
whose values have one datatype (``rdfs:range xsd:date``, ``sh:datatype``) to that datatype. A
property the models disagree on is left uncoerced. Prefixes come from ``sh:declare`` and
``vann:preferredNamespacePrefix``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from semtwin.rdf import Literal, NamedNode, Term
from semtwin.shacl.graph import GraphView
from semtwin.shacl.vocab import RDF_LANGSTRING, RDF_NS, RDF_TYPE, RDFS_NS, SH_NS, SH_PATH, XSD_NS

OWL = "http://www.w3.org/2002/07/owl#"
VANN = "http://purl.org/vocab/vann/"
IRI_VALUES = "@id"
_OBJECT_PROPERTY = NamedNode(OWL + "ObjectProperty")
_DATATYPE_PROPERTY = NamedNode(OWL + "DatatypeProperty")
_RANGE = NamedNode(RDFS_NS + "range")
_SH_DATATYPE = NamedNode(SH_NS + "datatype")
_SH_CLASS = NamedNode(SH_NS + "class")
_SH_NODE_KIND = NamedNode(SH_NS + "nodeKind")
_SH_DECLARE = NamedNode(SH_NS + "declare")
_SH_PREFIX = NamedNode(SH_NS + "prefix")
_SH_NAMESPACE = NamedNode(SH_NS + "namespace")
_IRI_KINDS = {NamedNode(SH_NS + "IRI")}
_NOT_COERCED = {RDF_LANGSTRING.value, RDFS_NS + "Literal", RDF_NS + "PlainLiteral",
                RDFS_NS + "Resource", OWL + "Thing"}
_VANN_PREFIX = NamedNode(VANN + "preferredNamespacePrefix")
_VANN_URI = NamedNode(VANN + "preferredNamespaceUri")


@dataclass(frozen=True)
class ModelTerms:
    """``coercions``: property IRI → ``@id`` or a datatype IRI; ``prefixes``: prefix →
    namespace, as the models declare them."""

    coercions: Mapping[str, str] = field(default_factory=dict)
    prefixes: Mapping[str, str] = field(default_factory=dict)


_DATATYPE = NamedNode(RDFS_NS + "Datatype")
_PREFIX_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _is_datatype(view: GraphView, term: NamedNode) -> bool:
    return (term.value.startswith(XSD_NS) or term.value == RDF_NS + "JSON"
            or _DATATYPE in view.objects(term, RDF_TYPE))


def derive_terms(view: GraphView) -> ModelTerms:
    claims: dict[str, set[str]] = {}

    def claim(prop: Term, coercion: str) -> None:
        if isinstance(prop, NamedNode) and prop != RDF_TYPE and coercion not in _NOT_COERCED:
            claims.setdefault(prop.value, set()).add(coercion)

    for prop, _ in ((s, o) for s, o in view.pairs(RDF_TYPE) if o == _OBJECT_PROPERTY):
        claim(prop, IRI_VALUES)
    for prop, value_range in view.pairs(_RANGE):
        if not isinstance(value_range, NamedNode) or value_range.value in _NOT_COERCED:
            continue
        if _is_datatype(view, value_range):
            claim(prop, value_range.value)
        elif _DATATYPE_PROPERTY not in view.objects(prop, RDF_TYPE):
            claim(prop, IRI_VALUES)
    for shape, datatype in view.pairs(_SH_DATATYPE):
        if isinstance(datatype, NamedNode):
            for path in view.objects(shape, SH_PATH):
                claim(path, datatype.value)
    for predicate in (_SH_CLASS, _SH_NODE_KIND):
        for shape, value in view.pairs(predicate):
            if predicate == _SH_CLASS or value in _IRI_KINDS:
                for path in view.objects(shape, SH_PATH):
                    claim(path, IRI_VALUES)
    coercions = {prop: next(iter(kinds)) for prop, kinds in claims.items() if len(kinds) == 1}
    return ModelTerms(coercions, _prefixes(view))


def _prefixes(view: GraphView) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for _, declaration in view.pairs(_SH_DECLARE):
        for prefix in view.objects(declaration, _SH_PREFIX):
            for namespace in view.objects(declaration, _SH_NAMESPACE):
                if isinstance(prefix, Literal) and isinstance(namespace, Literal | NamedNode):
                    found.setdefault(prefix.value, set()).add(namespace.value)
    for ontology, prefix in view.pairs(_VANN_PREFIX):
        for namespace in view.objects(ontology, _VANN_URI):
            if isinstance(prefix, Literal) and isinstance(namespace, Literal | NamedNode):
                found.setdefault(prefix.value, set()).add(namespace.value)
    return {prefix: next(iter(spaces)) for prefix, spaces in found.items()
            if len(spaces) == 1 and _PREFIX_NAME.fullmatch(prefix)}
