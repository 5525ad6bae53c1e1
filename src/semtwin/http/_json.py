"""JSON in and out of the twin API: orjson for speed, exact for integers beyond 64 bits.

orjson reads an integer beyond 64 bits as a float (``2**70`` arrives as ``1.18e21``) and
refuses to write one; RDF's ``xsd:integer`` has no bound, so such a value is read and written
by the standard library instead, digit for digit.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from semtwin.errors import InvalidInput

_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``, or 400 saying where it is malformed."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        what = "nested deeper than 1,024 levels" if "depth" in err.msg else err.msg
        raise InvalidInput(f"malformed JSON at line {err.lineno}, column {err.colno}: {what}",
                           line=err.lineno, column=err.colno) from None
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
