"""Small, lexically safe edits of SPARQL text that engines have no API for.

Only what the SPARQL 1.1 Protocol needs: applying ``using-graph-uri`` and
``using-named-graph-uri`` to an update as ``USING`` clauses. The lexer skips strings, IRIs and
comments so keywords inside them are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

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
  | (?P<number>\d+\.\d*[eE][+-]?\d+|\d*\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class _Token(NamedTuple):
    """A token (a named tuple: a query with 20,000 values makes a few hundred thousand)."""

    kind: str
    text: str
    start: int
    depth: int


def tokens(text: str) -> Iterator[_Token]:
    """Tokens with their brace depth, white space left out; strings, IRIs, comments and
    unsigned numbers are single tokens (a sign stays an operator)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "space":
            continue
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


def add_group_filter(query: str, *filter_calls: str) -> str:
    """Put ``FILTER(<call>)`` for each of ``filter_calls`` first in every group that follows
    ``WHERE``, and in the query's first top-level group when it has no ``WHERE`` keyword
    (``ASK { }``).

    An always-true filter keeps the results; the engine calls it while it joins, which is
    how an embedded query gets a deadline it checks itself.
    """
    clause = "".join(f" FILTER({call})" for call in filter_calls) + " "
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


_VARIABLE = re.compile(r"[?$]([A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)")


def variables(query: str, limit: int) -> list[str]:
    """The distinct variable names the query mentions (up to ``limit``), in order of first
    mention, wherever they are in scope; targets of ``AS`` (``BIND``, projections) left out,
    since a group may not mention them before it assigns them."""
    found: dict[str, None] = {}
    assigned: set[str] = set()
    previous: str | None = None
    for token in tokens(query):
        if token.kind == "word" and token.text[0] in "?$":
            match = _VARIABLE.match(token.text)
            if match:
                if previous == "AS":
                    assigned.add(match.group(1))
                else:
                    found[match.group(1)] = None
        previous = _keyword(token)
    return [name for name in found if name not in assigned][:limit]


def query_form(query: str) -> str | None:
    """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``: the first of them at depth 0."""
    for token in tokens(query):
        if token.depth == 0:
            keyword = _keyword(token)
            if keyword in {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}:
                return keyword
    return None


MAX_NESTING = 200
"""Brackets (``{``, ``(``, ``[``) a client's query or update may nest."""
MAX_CHAIN = 2000
"""``UNION``, ``OPTIONAL`` and ``MINUS`` keywords, operators and path steps, and triple
patterns a client's query or update may chain (data and ``VALUES`` blocks aside)."""
_CHAINING = frozenset("&|+-*/^;")


def check_complexity(text: str) -> None:
    """Refuse SPARQL that the engine cannot survive: pyoxigraph's parser and planner recurse
    once per nesting level and per chained operator, and past a few thousand the stack runs
    out and the whole process dies (measured on an 8 MB stack: nested groups 2,200, subqueries
    2,500, parentheses 4,600, ``UNION`` or ``+`` chains 6,500, ``&&`` chains 9,000). Counts
    skip strings, IRIs and comments; ``INSERT DATA``/``DELETE DATA`` and ``VALUES`` blocks are
    checked for nesting only. Cheap for ordinary text (a few ``str.count``)."""
    brackets = text.count("{") + text.count("(") + text.count("[")
    chained = sum(text.count(c) for c in "&|+-*/^;.") + len(re.findall(
        r"(?i)union|optional|minus", text))
    if brackets <= MAX_NESTING and chained <= MAX_CHAIN:
        return
    nesting = deepest = chain = 0
    block_depth: int | None = None  # inside a DATA or VALUES block: its brace depth
    block_next = False  # DATA or VALUES seen: the next brace opens its block
    for token in tokens(text):
        kind, value = token.kind, token.text
        if kind in ("space", "comment"):
            continue
        if kind == "open" or value in ("(", "["):
            nesting += 1
            deepest = max(deepest, nesting)
            if kind == "open" and block_next and block_depth is None:
                block_depth, block_next = token.depth, False
            continue
        if kind == "close" or value in (")", "]"):
            nesting -= 1
            if kind == "close" and token.depth == block_depth:
                block_depth = None
            continue
        if kind == "word" and value.upper() in ("DATA", "VALUES"):
            block_next = True
        if block_depth is not None:
            continue  # data, or rows of values: no operators to chain
        keyword = kind == "word" and value.upper() in ("UNION", "OPTIONAL", "MINUS")
        # a full stop ends a triple pattern, unless it is a decimal point
        stop = value == "." and not text[token.start + 1:token.start + 2].isdigit()
        if keyword or (kind == "other" and (value in _CHAINING or stop)):
            chain += 1
    if deepest > MAX_NESTING:
        raise InvalidInput(f"refused: brackets nested {deepest} deep (at most {MAX_NESTING}; "
                           "deeper nesting would exhaust the engine's stack)")
    if chain > MAX_CHAIN:
        raise InvalidInput(f"refused: {chain} chained operators, path steps, UNION/OPTIONAL/"
                           f"MINUS or triple patterns (at most {MAX_CHAIN}; longer chains "
                           "would exhaust the engine's stack)")
