"""Refuse hostile XML before any RDF/XML parser sees it.

pyoxigraph's RDF/XML parser expands internal entities without bound (a "billion laughs"
document never returns). Documents with a DTD are first read by defusedxml over expat, which
forbids external entities and caps entity amplification; only documents that pass go on.
"""

from __future__ import annotations

import xml.parsers.expat
import xml.sax
import xml.sax.handler
from typing import IO

import defusedxml
import defusedxml.sax

from semtwin.errors import InvalidInput

PROLOG_SCAN = 1 << 20
"""Bytes read from a document's start to find a DTD."""


def has_doctype(head: bytes) -> bool:
    return b"<!DOCTYPE" in head or b"<!doctype" in head


def check_xml(data: bytes | IO[bytes], source: str = "body") -> None:
    """Raise ``InvalidInput`` if the document declares external entities or its entities
    amplify beyond expat's limit. A document without a DTD is passed through unread."""
    if isinstance(data, bytes):
        if not has_doctype(data[:PROLOG_SCAN]):
            return
        stream_or_bytes: bytes | IO[bytes] = data
    else:
        position = data.tell()
        head = data.read(PROLOG_SCAN)
        data.seek(position)
        if not has_doctype(head):
            return
        stream_or_bytes = data
    handler = xml.sax.handler.ContentHandler()
    try:
        if isinstance(stream_or_bytes, bytes):
            defusedxml.sax.parseString(stream_or_bytes, handler, forbid_dtd=False,
                                       forbid_entities=False, forbid_external=True)
        else:
            defusedxml.sax.parse(stream_or_bytes, handler, forbid_dtd=False,
                                 forbid_entities=False, forbid_external=True)
            stream_or_bytes.seek(position)
    except xml.sax.SAXParseException as err:
        raise InvalidInput(
            f"refused XML in {source} at line {err.getLineNumber()}, column "
            f"{err.getColumnNumber()}: {err.getMessage()}",
            line=err.getLineNumber(), column=err.getColumnNumber(),
        ) from None
    except defusedxml.DefusedXmlException as err:
        raise InvalidInput(f"refused XML in {source}: {err}") from None


MAX_DEPTH = 1000
"""Elements an XML document may nest: pyoxigraph's RDF/XML parser slows down with the square of
the depth (30,000 levels, a 720 KB document, take 8 s; a 64 MB body would take hours)."""


class _TooDeep(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line, self.column = line, column


def check_depth(data: bytes | IO[bytes], source: str = "body") -> None:
    """Raise ``InvalidInput`` if elements nest deeper than ``MAX_DEPTH`` (one expat pass; a
    malformed document is left for the real parser to report)."""
    parser = xml.parsers.expat.ParserCreate()
    depth = 0

    def start(_name: str, _attributes: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep(parser.CurrentLineNumber, parser.CurrentColumnNumber)

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    position = None if isinstance(data, bytes) else data.tell()
    try:
        if isinstance(data, bytes):
            parser.Parse(data, True)
        else:
            parser.ParseFile(data)
    except _TooDeep as err:
        raise InvalidInput(f"refused XML in {source} at line {err.line}, column {err.column}: "
                           f"elements nested deeper than {MAX_DEPTH}",
                           line=err.line, column=err.column) from None
    except xml.parsers.expat.ExpatError:
        return
    finally:
        if position is not None and not isinstance(data, bytes):
            data.seek(position)
