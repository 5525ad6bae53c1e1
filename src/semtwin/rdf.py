"""RDF terms, formats and parsing shared by every layer.

The term model is pyoxigraph's (fast, immutable, Rust-backed) and is used as plain data: only
``semtwin.store`` ever touches a ``pyoxigraph.Store``.
"""

from __future__ import annotations

from typing import IO

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Triple,
    parse,
    serialize,
)

from semtwin.errors import InvalidInput, UnsupportedMediaType
from semtwin.jsontext import load_json
from semtwin.xmlsafety import check_depth, check_xml

Term = NamedNode | BlankNode | Literal | Triple
Subject = NamedNode | BlankNode | Triple
GraphName = NamedNode | BlankNode | DefaultGraph

__all__ = [
    "BlankNode",
    "DefaultGraph",
    "GraphName",
    "Literal",
    "NamedNode",
    "Quad",
    "RdfFormat",
    "Subject",
    "Term",
    "Triple",
    "format_by_name",
    "format_for_media_type",
    "format_for_path",
    "parse",
    "parse_rdf",
    "serialize",
    "term_value",
]

FORMAT_NAMES: dict[str, RdfFormat] = {
    "turtle": RdfFormat.TURTLE,
    "ttl": RdfFormat.TURTLE,
    "ntriples": RdfFormat.N_TRIPLES,
    "nt": RdfFormat.N_TRIPLES,
    "nquads": RdfFormat.N_QUADS,
    "nq": RdfFormat.N_QUADS,
    "trig": RdfFormat.TRIG,
    "jsonld": RdfFormat.JSON_LD,
    "json-ld": RdfFormat.JSON_LD,
    "rdfxml": RdfFormat.RDF_XML,
    "xml": RdfFormat.RDF_XML,
    "rdf": RdfFormat.RDF_XML,
    "owl": RdfFormat.RDF_XML,
    "n3": RdfFormat.N3,
}

# Media types browsers and older clients send for RDF, beyond the registered ones.
_MEDIA_ALIASES: dict[str, RdfFormat] = {
    "application/x-turtle": RdfFormat.TURTLE,
    "text/plain": RdfFormat.N_TRIPLES,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/xml": RdfFormat.RDF_XML,
    "text/xml": RdfFormat.RDF_XML,
    "application/json": RdfFormat.JSON_LD,
    "application/x-trig": RdfFormat.TRIG,
}


def sparql_term(term: object) -> str:
    """A term as SPARQL/N-Triples text; a triple term in the RDF 1.2 ``<<( … )>>`` form
    (``str`` of a pyoxigraph ``Triple`` is its three terms, unwrapped)."""
    if isinstance(term, Triple):
        return (f"<<( {sparql_term(term.subject)} {sparql_term(term.predicate)} "
                f"{sparql_term(term.object)} )>>")
    return str(term)


def term_value(term: object) -> str:
    """The lexical value of an IRI, blank node or literal (a quoted triple's text)."""
    value = getattr(term, "value", None)
    return value if isinstance(value, str) else str(term)


def format_by_name(name: str) -> RdfFormat:
    try:
        return FORMAT_NAMES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMAT_NAMES))
        raise InvalidInput(f"unknown RDF format {name!r}; known: {known}") from None


def format_for_path(path: str) -> RdfFormat:
    """Guess the format from a file name, looking through ``.gz``."""
    name = path.lower().removesuffix(".gz")
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext == "json" or ext == "jsonld":
        return RdfFormat.JSON_LD
    fmt = RdfFormat.from_extension(ext) or FORMAT_NAMES.get(ext)
    if fmt is None:
        raise InvalidInput(f"cannot tell the RDF format of {path!r} from its extension; "
                           "pass --format")
    return fmt


def format_for_media_type(content_type: str | None) -> RdfFormat:
    """The RDF format for a Content-Type header, or 415."""
    if not content_type:
        raise UnsupportedMediaType("a Content-Type header naming an RDF format is required")
    essence = content_type.split(";", 1)[0].strip().lower()
    fmt = RdfFormat.from_media_type(essence) or _MEDIA_ALIASES.get(essence)
    if fmt is None:
        raise UnsupportedMediaType(f"unsupported RDF media type {essence!r}")
    return fmt


def parse_rdf(
    data: bytes | IO[bytes],
    fmt: RdfFormat,
    *,
    base_iri: str | None = None,
    to_graph: NamedNode | BlankNode | DefaultGraph | None = None,
    source: str = "body",
) -> list[Quad]:
    """Parse fully (so nothing is written on error) into quads; errors carry line and column.

    With ``to_graph`` the body must be a graph (no named graphs) and every triple is put in
    that graph. Blank nodes are renamed so an upload never merges with stored blank nodes.
    """
    if fmt == RdfFormat.RDF_XML:
        check_xml(data, source)
        check_depth(data, source)
    elif fmt == RdfFormat.JSON_LD:
        data = data if isinstance(data, bytes) else data.read()
        check_json_depth(data, source)
    try:
        quads = list(
            parse(
                data,
                format=fmt,
                base_iri=base_iri,
                without_named_graphs=to_graph is not None,
                rename_blank_nodes=True,
            )
        )
    except SyntaxError as err:
        line, column = _position(err)
        where = f" at line {line}, column {column}" if line is not None else ""
        raise InvalidInput(
            f"malformed {fmt.name} in {source}{where}: {err.msg}", line=line, column=column
        ) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read {fmt.name} from {source}: {err}") from None
    if to_graph is None:
        return quads
    return [Quad(q.subject, q.predicate, q.object, to_graph) for q in quads]


def check_json_depth(data: bytes, source: str = "body") -> None:
    """Refuse JSON-LD nested deeper than 1,024 levels before pyoxigraph's JSON-LD parser, which
    recurses per level, crashes the process on it (at about 10,000 levels, a 300 KB body)."""
    load_json(data, f"JSON-LD in {source}")


def _position(err: SyntaxError) -> tuple[int | None, int | None]:
    if err.lineno is not None:
        return err.lineno, err.offset
    return None, None
