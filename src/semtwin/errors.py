"""Domain exceptions. Front ends map them to their own error shapes (HTTP: RFC 9457)."""

from __future__ import annotations


class SemtwinError(Exception):
    """Base of every error semtwin reports to a caller."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(SemtwinError):
    """The request body or a parameter cannot be parsed or is out of range."""

    status = 400
    title = "Invalid input"


class Forbidden(SemtwinError):
    status = 403
    title = "Forbidden"


class NotFound(SemtwinError):
    status = 404
    title = "Not found"


class MethodNotAllowed(SemtwinError):
    status = 405
    title = "Method not allowed"


class NotAcceptable(SemtwinError):
    status = 406
    title = "Not acceptable"


class Conflict(SemtwinError):
    status = 409
    title = "Conflict"


class PreconditionFailed(SemtwinError):
    status = 412
    title = "Precondition failed"


class PayloadTooLarge(SemtwinError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(SemtwinError):
    status = 415
    title = "Unsupported media type"


class UnprocessableContent(SemtwinError):
    """Well-formed input that cannot be applied (a patch path that does not exist)."""

    status = 422
    title = "Unprocessable content"


class ResultTooLarge(SemtwinError):
    """A query produced more rows than the configured cap."""

    status = 422
    title = "Result exceeds row cap"


class QueryTimeout(SemtwinError):
    status = 503
    title = "Query timeout"


class Busy(SemtwinError):
    """Every query slot is taken; retry later."""

    status = 503
    title = "Server busy"


class StoreUnavailable(SemtwinError):
    """The backing store cannot be reached or opened."""

    status = 503
    title = "Store unavailable"


class StoreLocked(StoreUnavailable):
    title = "Store in use"


class ShapeViolation(UnprocessableContent):
    """A write the active shapes reject; ``report`` is the SHACL validation report (JSON),
    ``turtle`` the same report as RDF for clients that ask for it."""

    title = "Shape violation"

    def __init__(self, detail: str, *, report: object, turtle: bytes = b"") -> None:
        super().__init__(detail, report=report)
        self.turtle = turtle
