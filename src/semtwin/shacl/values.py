"""Literal values: is a literal well-formed for its datatype, and how two literals compare
(SPARQL operator semantics: numbers with numbers, times with times, strings with strings)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from semtwin.rdf import Literal, NamedNode, Term
from semtwin.shacl.vocab import XSD_NS

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DOUBLE = re.compile(r"[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|INF|NaN)|-INF")
_DATETIME = re.compile(
    r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?")
_DATE = re.compile(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?")
_DURATION = re.compile(
    r"-?P(?=.)([0-9]+Y)?([0-9]+M)?([0-9]+D)?(T(?=.)([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?")
_LANGUAGE = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")

_INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None), "long": (-2**63, 2**63 - 1), "int": (-2**31, 2**31 - 1),
    "short": (-2**15, 2**15 - 1), "byte": (-128, 127),
    "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "unsignedLong": (0, 2**64 - 1), "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1), "unsignedByte": (0, 255),
}
NUMERIC = {XSD_NS + n for n in (*_INTEGER_RANGES, "decimal", "float", "double")}


def _valid_datetime(text: str) -> bool:
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(_iso(text).replace("T24:00:00", "T00:00:00"))
    except ValueError:
        return False
    return True


def _valid_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _in_range(name: str) -> Callable[[str], bool]:
    low, high = _INTEGER_RANGES[name]

    def check(text: str) -> bool:
        if not _INTEGER.fullmatch(text.strip()):
            return False
        value = int(text)
        return (low is None or value >= low) and (high is None or value <= high)
    return check


_CHECKS: dict[str, Callable[[str], bool]] = {
    **{XSD_NS + name: _in_range(name) for name in _INTEGER_RANGES},
    XSD_NS + "decimal": lambda t: bool(_DECIMAL.fullmatch(t.strip())),
    XSD_NS + "float": lambda t: bool(_DOUBLE.fullmatch(t.strip())),
    XSD_NS + "double": lambda t: bool(_DOUBLE.fullmatch(t.strip())),
    XSD_NS + "boolean": lambda t: t.strip() in {"true", "false", "1", "0"},
    XSD_NS + "dateTime": _valid_datetime,
    XSD_NS + "dateTimeStamp": lambda t: _valid_datetime(t) and bool(
        re.search(r"(Z|[+-][0-9]{2}:[0-9]{2})$", t)),
    XSD_NS + "date": _valid_date,
    XSD_NS + "time": lambda t: bool(_TIME.fullmatch(t)),
    XSD_NS + "duration": lambda t: bool(_DURATION.fullmatch(t)),
    XSD_NS + "gYear": lambda t: bool(re.fullmatch(r"-?[0-9]{4,}(Z|[+-][0-9]{2}:[0-9]{2})?", t)),
    XSD_NS + "language": lambda t: bool(_LANGUAGE.fullmatch(t)),
}


def is_well_formed(literal: Literal) -> bool:
    """Whether the lexical form is valid for the datatype (unknown datatypes are)."""
    check = _CHECKS.get(literal.datatype.value)
    return check is None or check(literal.value)


def _iso(text: str) -> str:
    return text.replace("Z", "+00:00")


def comparable_value(term: Term) -> tuple[str, Any] | None:
    """A (kind, value) pair values of the same kind compare by, or None."""
    if not isinstance(term, Literal):
        return None
    datatype = term.datatype.value
    text = term.value.strip()
    try:
        if datatype in NUMERIC:
            if not is_well_formed(term):
                return None
            if datatype in {XSD_NS + "float", XSD_NS + "double"}:
                return "number", float(text.replace("INF", "inf"))
            return "number", Decimal(text)
        if datatype == XSD_NS + "dateTime" and _valid_datetime(text):
            stamp = datetime.fromisoformat(_iso(text))
            return ("datetime" if stamp.tzinfo else "localdatetime"), stamp
        if datatype == XSD_NS + "date" and _valid_date(text):
            return "date", date.fromisoformat(text[:10])
        if datatype in {XSD_NS + "string"} and not term.language:
            return "string", term.value
        if datatype == XSD_NS + "boolean" and is_well_formed(term):
            return "boolean", text in {"true", "1"}
    except (ValueError, InvalidOperation):
        return None
    return None


def compare(left: Term, right: Term) -> int | None:
    """-1, 0, 1 as SPARQL's ``<``/``=`` would say, or None when the two do not compare."""
    a, b = comparable_value(left), comparable_value(right)
    if a is None or b is None or a[0] != b[0]:
        return None
    x, y = a[1], b[1]
    try:
        return -1 if x < y else (1 if x > y else 0)
    except TypeError:
        return None


def lexical(term: Term) -> str | None:
    """``str()`` of a value as SPARQL gives it (IRIs and literals; no blank nodes)."""
    if isinstance(term, Literal | NamedNode):
        return term.value
    return None
