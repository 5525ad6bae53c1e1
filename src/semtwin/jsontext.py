"""JSON read and written with orjson, kept safe and exact where orjson alone is not.

orjson refuses documents nested past 1,024 levels (the JSON-LD parser behind it would crash
the process on them, see ADR 0016), reads an integer beyond 64 bits as a float (``2**70``
arrives as ``1.18e21``) and refuses to write one; RDF's ``xsd:integer`` has no bound, so such
a value is read and written by the standard library instead, digit for digit.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from semtwin.errors import InvalidInput

_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def load_json(body: bytes, what: str = "JSON") -> Any:
    """The document in ``body``, or 400 saying where and why it cannot be read (malformed,
    or nested deeper than 1,024 levels). Integers beyond 64 bits come back as floats."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        why = "nested deeper than 1,024 levels" if "depth" in err.msg else err.msg
        raise InvalidInput(f"malformed {what} at line {err.lineno}, column {err.colno}: {why}",
                           line=err.lineno, column=err.colno) from None


def parse_json(body: bytes) -> Any:
    """As ``load_json``, with every integer exact (a body that may hold one beyond 64 bits is
    read again by the standard library)."""
    value = load_json(body)
    if _LONG_DIGITS.search(body) is None:
        return value
    try:
        return json.loads(body)  # valid JSON (orjson said so): only the integers differ
    except ValueError as err:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise InvalidInput(f"a number in the JSON body is too long: {err}") from None


def json_bytes(value: Any) -> bytes:
    """``value`` as compact JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits (anything else fails here too)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
