"""Small, lexically safe edits of SPARQL text that engines have no API for.

Only what the SPARQL 1.1 Protocol needs: applying ``using-graph-uri`` and
``using-named-graph-uri`` to an update as ``USING`` clauses. The lexer skips strings, IRIs and
comments so keywords inside them are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from semtwin.errors import InvalidInput

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
             | '''(?:[^'\\]|\\.|'(?!''))*'''
             | "(?:[^"\\\n]|\\.)*"
             | '(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<word>[?$]?[A-Za-z_\u00C0-\uFFFF][\w\-.:\u00B7\u00C0-\uFFFF]*)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    depth: int


def tokens(text: str) -> Iterator[_Token]:
    """Tokens with their brace depth; strings, IRIs and comments are single tokens."""
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "close":
            depth -= 1
        yield _Token(kind, match.group(), match.start(), depth)
        if kind == "open":
            depth += 1


def uses_triple_terms(text: str) -> bool:
    """Whether a query or update writes an RDF 1.2 triple term or reifier (``<< … >>``)."""
    previous: _Token | None = None
    for token in tokens(text):
        if (token.text == "<" and previous is not None and previous.text == "<"
                and previous.start + 1 == token.start):
            return True
        previous = token
    return False


def _keyword(token: _Token) -> str | None:
    if token.kind == "word" and token.text[0] not in "?$" and ":" not in token.text:
        return token.text.upper()
    return None


def add_using_clauses(
    update: str, using: Sequence[str], using_named: Sequence[str]
) -> str:
    """Insert ``USING``/``USING NAMED`` before the ``WHERE`` of every DELETE/INSERT operation.

    The protocol forbids combining these parameters with ``USING``/``USING NAMED``/``WITH`` in
    the request: that is reported as invalid input.
    """
    if not using and not using_named:
        return update
    clauses = " ".join(
        [f"USING <{iri}>" for iri in using] + [f"USING NAMED <{iri}>" for iri in using_named]
    )
    insert_at: list[int] = []
    previous: str | None = None
    for token in tokens(update):
        if token.kind in {"space", "comment"}:
            continue
        keyword = _keyword(token) if token.depth == 0 else None
        if keyword in {"USING", "WITH"}:
            raise InvalidInput(
                "using-graph-uri/using-named-graph-uri cannot be combined with USING or WITH "
                "in the update request"
            )
        if keyword == "WHERE" and previous != "DELETE":
            insert_at.append(token.start)
        previous = keyword if token.depth == 0 else None
    out = update
    for position in reversed(insert_at):
        out = f"{out[:position]}{clauses} {out[position:]}"
    return out


def add_group_filter(query: str, filter_call: str) -> str:
    """Put ``FILTER(<filter_call>)`` first in every group that follows ``WHERE``, and in the
    query's first top-level group when it has no ``WHERE`` keyword (``ASK { }``).

    An always-true filter keeps the results; the engine calls it while it joins, which is
    how an embedded query gets a deadline it checks itself.
    """
    clause = f" FILTER({filter_call}) "
    insert_at: list[int] = []
    previous: str | None = None
    saw_where = False
    head_keyword: str | None = None
    before_previous: str | None = None
    for token in tokens(query):
        if token.kind in {"space", "comment"}:
            continue
        keyword = _keyword(token)
        if token.depth == 0 and head_keyword is None and keyword in {
            "SELECT", "ASK", "CONSTRUCT", "DESCRIBE"
        }:
            head_keyword = keyword
        if keyword == "WHERE":
            saw_where = True
        after_where = previous == "WHERE" and before_previous != "CONSTRUCT"
        first_group = (token.depth == 0 and not saw_where and not insert_at
                       and head_keyword in {"SELECT", "ASK"})
        if token.kind == "open" and (after_where or first_group):
            insert_at.append(token.start + 1)
        before_previous, previous = previous, keyword
    out = query
    for position in reversed(insert_at):
        out = f"{out[:position]}{clause}{out[position:]}"
    return out


def query_form(query: str) -> str | None:
    """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``: the first of them at depth 0."""
    for token in tokens(query):
        if token.depth == 0:
            keyword = _keyword(token)
            if keyword in {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}:
                return keyword
    return None
