"""Errors as RFC 9457 problem+json, built in one place."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from semtwin.errors import SemtwinError
from semtwin.negotiation import best_match

log = logging.getLogger("semtwin.http")
PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int, title: str, detail: str, request: Request | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    body.update({k: v for k, v in extra.items()
                 if v is not None and k not in {"retry_after", "allow"}})
    headers: dict[str, str] = {}
    if extra.get("allow"):
        headers["Allow"] = str(extra["allow"])
    if request is not None:
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if extra.get("retry_after"):
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON,
                    headers=headers)


def semtwin_error_response(request: Request, exc: SemtwinError) -> Response:
    """The answer to a semtwin error: problem+json, or a validation report in Turtle when the
    client asks for it."""
    if exc.status >= 500:
        log.warning("request failed: %s", exc.detail)
    turtle = getattr(exc, "turtle", b"")
    if turtle and best_match([PROBLEM_JSON, "text/turtle"],
                             request.headers.get("accept")) == "text/turtle":
        return Response(turtle, status_code=exc.status, media_type="text/turtle")
    return problem_response(exc.status, exc.title, exc.detail, request, **exc.extra)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_semtwin_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SemtwinError)
        return semtwin_error_response(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        response = problem_response(exc.status_code, _title(exc.status_code), str(exc.detail),
                                    request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()
        ]
        return problem_response(400, "Invalid input", "request parameters are invalid",
                                request, errors=errors)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem_response(500, "Internal error", "an unexpected error occurred", request)

    app.add_exception_handler(SemtwinError, on_semtwin_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
