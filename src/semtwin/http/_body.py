"""Reading request bodies and protocol parameters."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from semtwin.errors import InvalidInput, UnsupportedMediaType


async def read_body(request: Request) -> bytes:
    """The whole body; the size limit is enforced by the middleware while it streams."""
    return await request.body()


def media_type(request: Request) -> tuple[str, dict[str, str]]:
    """The Content-Type's essence (lower case) and its parameters."""
    raw = request.headers.get("content-type", "")
    essence, _, rest = raw.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    return essence.strip().lower(), params


def require_utf8(params: dict[str, str]) -> None:
    charset = params.get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(f"charset {charset!r} is not supported; send UTF-8")


def decode_utf8(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{what} is not valid UTF-8 (byte {err.start})") from None


def form_params(body: bytes) -> list[tuple[str, str]]:
    text = decode_utf8(body, "form body")
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                         errors="strict")
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidInput(f"malformed form body: {err}") from None


def values(params: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in params if key == name]


def single(params: list[tuple[str, str]], name: str) -> str | None:
    found = values(params, name)
    if len(found) > 1:
        raise InvalidInput(f"parameter {name!r} given {len(found)} times; give it once")
    return found[0] if found else None
