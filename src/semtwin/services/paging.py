"""Keyset pages: a page of items and an opaque cursor that says where the next one starts.

The cursor is the last item's sort key, base64url-encoded: a page never repeats or skips an
item that stays while others are written between requests (no offsets)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from semtwin.errors import InvalidInput


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """What ``encode_cursor`` made; anything else (a cursor cut short, edited, from
    elsewhere) is refused rather than read as another place to start."""
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                                validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None
    if not text or encode_cursor(text) != cursor.rstrip("="):
        raise InvalidInput("invalid cursor")
    return text
