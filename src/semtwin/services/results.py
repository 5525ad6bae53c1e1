"""Serializers for SPARQL results: SELECT/ASK in JSON, XML, CSV, TSV; graphs in RDF formats.

Rows are pulled one at a time so the deadline and the row cap are checked while the engine
streams: a runaway streaming query stops when its deadline passes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson

from semtwin.deadline import Deadline
from semtwin.errors import ResultTooLarge
from semtwin.rdf import BlankNode, Literal, NamedNode, RdfFormat, Term, serialize
from semtwin.store import AskResult, GraphResult, QueryResult, SelectResult

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"

SELECT_TYPES = [SPARQL_JSON, SPARQL_XML, CSV, TSV, "application/json", "application/xml"]
ASK_TYPES = [SPARQL_JSON, SPARQL_XML, "application/json", "application/xml"]
GRAPH_TYPES = [
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/n-quads",
    "application/trig",
    "text/plain",
    "application/json",
    "application/xml",
]
GRAPH_FORMATS: dict[str, RdfFormat] = {
    "text/turtle": RdfFormat.TURTLE,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "text/plain": RdfFormat.N_TRIPLES,
    "application/ld+json": RdfFormat.JSON_LD,
    "application/json": RdfFormat.JSON_LD,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/xml": RdfFormat.RDF_XML,
    "application/n-quads": RdfFormat.N_QUADS,
    "application/trig": RdfFormat.TRIG,
}
RESULT_TYPE_ALIASES = {"application/json": SPARQL_JSON, "application/xml": SPARQL_XML}

# Short names for ?format= and the CLI.
FORMAT_SHORT_NAMES = {
    "json": SPARQL_JSON,
    "xml": SPARQL_XML,
    "csv": CSV,
    "tsv": TSV,
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "ntriples": "application/n-triples",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "nquads": "application/n-quads",
    "trig": "application/trig",
}


@dataclass
class Rendered:
    body: bytes
    media_type: str
    rows: int


@dataclass
class Limits:
    deadline: Deadline | None
    max_rows: int


def offers_for(result: QueryResult) -> list[str]:
    if isinstance(result, SelectResult):
        return SELECT_TYPES
    if isinstance(result, AskResult):
        return ASK_TYPES
    return GRAPH_TYPES


def render(result: QueryResult, media_type: str, limits: Limits) -> Rendered:
    media_type = RESULT_TYPE_ALIASES.get(media_type, media_type) if not isinstance(
        result, GraphResult
    ) else media_type
    if isinstance(result, AskResult):
        return _render_ask(result.value, media_type)
    if isinstance(result, SelectResult):
        rows = list(_guarded(result.rows, limits))
        writer = _SELECT_WRITERS[media_type]
        return Rendered(writer(result.variables, rows), _with_charset(media_type), len(rows))
    triples = list(_guarded(result.triples, limits))
    fmt = GRAPH_FORMATS[media_type]
    body = serialize(triples, format=fmt) or b""
    return Rendered(body, _with_charset(fmt.media_type), len(triples))


def _with_charset(media_type: str) -> str:
    if media_type.startswith("text/") or media_type.endswith(("+json", "+xml", "/json")):
        return f"{media_type}; charset=utf-8"
    return media_type


def _guarded(items: Iterator[Any], limits: Limits) -> Iterator[Any]:
    deadline = limits.deadline
    for count, item in enumerate(items, start=1):
        if count > limits.max_rows:
            raise ResultTooLarge(
                f"the result has more than {limits.max_rows} rows; add LIMIT (and OFFSET to page)",
                max_rows=limits.max_rows,
            )
        if deadline is not None and count % 256 == 0:
            deadline.check()
        yield item
    if deadline is not None:
        deadline.check()


# --- ASK ---------------------------------------------------------------------------------


def _render_ask(value: bool, media_type: str) -> Rendered:
    if media_type == SPARQL_XML:
        body = (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
        ).encode()
    else:
        media_type = SPARQL_JSON
        body = orjson.dumps({"head": {}, "boolean": value})
    return Rendered(body, _with_charset(media_type), 1)


# --- SELECT: JSON ------------------------------------------------------------------------


def term_to_json(term: Term) -> dict[str, Any]:
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": term_to_json(term.subject),
            "predicate": term_to_json(term.predicate),
            "object": term_to_json(term.object),
        },
    }


def _select_json(variables: list[str], rows: list[tuple[Term | None, ...]]) -> bytes:
    bindings = [
        {name: term_to_json(value)
         for name, value in zip(variables, row, strict=False) if value is not None}
        for row in rows
    ]
    return orjson.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}})


# --- SELECT: XML -------------------------------------------------------------------------


def _term_xml(term: Term) -> str:
    if isinstance(term, NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return (
                f"<literal datatype={quoteattr(term.datatype.value)}>"
                f"{escape(term.value)}</literal>"
            )
        return f"<literal>{escape(term.value)}</literal>"
    return (
        f"<triple><subject>{_term_xml(term.subject)}</subject>"
        f"<predicate>{_term_xml(term.predicate)}</predicate>"
        f"<object>{_term_xml(term.object)}</object></triple>"
    )


def _select_xml(variables: list[str], rows: list[tuple[Term | None, ...]]) -> bytes:
    out = io.StringIO()
    out.write('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">')
    out.write("<head>")
    for name in variables:
        out.write(f"<variable name={quoteattr(name)}/>")
    out.write("</head><results>")
    for row in rows:
        out.write("<result>")
        for name, value in zip(variables, row, strict=False):
            if value is not None:
                out.write(f"<binding name={quoteattr(name)}>{_term_xml(value)}</binding>")
        out.write("</result>")
    out.write("</results></sparql>\n")
    return out.getvalue().encode()


# --- SELECT: CSV and TSV -----------------------------------------------------------------


def _term_csv(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    if isinstance(term, NamedNode | Literal):
        return term.value
    return str(term)


def _select_csv(variables: list[str], rows: list[tuple[Term | None, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(variables)
    for row in rows:
        writer.writerow([_term_csv(value) for value in row])
    return out.getvalue().encode()


def _term_tsv(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, Literal) and not term.language and term.datatype.value in {
        "http://www.w3.org/2001/XMLSchema#integer",
        "http://www.w3.org/2001/XMLSchema#decimal",
        "http://www.w3.org/2001/XMLSchema#double",
        "http://www.w3.org/2001/XMLSchema#boolean",
    }:
        return term.value
    return str(term)


def _select_tsv(variables: list[str], rows: list[tuple[Term | None, ...]]) -> bytes:
    lines = ["\t".join(f"?{name}" for name in variables)]
    lines.extend("\t".join(_term_tsv(value) for value in row) for row in rows)
    return ("\n".join(lines) + "\n").encode()


_SELECT_WRITERS: dict[str, Callable[[list[str], list[tuple[Term | None, ...]]], bytes]] = {
    SPARQL_JSON: _select_json,
    SPARQL_XML: _select_xml,
    CSV: _select_csv,
    TSV: _select_tsv,
}

