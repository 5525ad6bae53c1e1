"""Requests the HTTP parser refuses, answered as problem+json.

uvicorn answers a request its parser cannot take (a URL over 65,535 bytes, a malformed
header) with a plain-text ``400 Invalid HTTP request received.`` that names neither where nor
why. This protocol answers the same requests with RFC 9457 problem+json: ``414`` with the
URL's length and the way round it (a SPARQL query in a POST body) for a URL too long,
otherwise ``400`` with the parser's own reason. Before any application code runs, so the
store is never reached.
"""

from __future__ import annotations

import sys

import orjson
from httptools import HttpParserCallbackError, HttpParserInvalidURLError
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from semtwin.http.problems import PROBLEM_JSON

_REASONS = {400: b"Bad Request", 414: b"URI Too Long"}


def parser_problem(error: BaseException | None) -> tuple[int, dict[str, object]]:
    """The status and problem document for what the HTTP parser raised (for an error
    raised in one of uvicorn's parser callbacks, such as its URL parsing, that error)."""
    while isinstance(error, HttpParserCallbackError) and (error.__cause__ or error.__context__):
        error = error.__cause__ or error.__context__
    reason = str(error) if error is not None and str(error) else "the request is malformed"
    if isinstance(error, HttpParserInvalidURLError) and "too long" in reason:
        return 414, {
            "type": "about:blank", "title": "URI too long", "status": 414,
            "detail": f"{reason}: send a long SPARQL query or update in a POST body "
                      "(application/sparql-query, application/sparql-update or an HTML "
                      "form), and long filters as a batch of shorter requests"}
    return 400, {"type": "about:blank", "title": "Malformed HTTP request", "status": 400,
                 "detail": f"the HTTP parser refused the request: {reason}"}


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with its parser errors answered as problem+json."""

    def send_400_response(self, msg: str) -> None:
        # called from inside uvicorn's ``except httptools.HttpParserError`` block
        status, problem = parser_problem(sys.exc_info()[1])
        body = orjson.dumps(problem)
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: ", PROBLEM_JSON.encode(), b"\r\n",
                 b"content-length: ", str(len(body)).encode(), b"\r\n",
                 b"connection: close\r\n\r\n", body]
        self.transport.write(b"".join(head))
        self.transport.close()
