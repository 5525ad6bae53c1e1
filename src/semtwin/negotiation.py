"""HTTP content negotiation over named media types (RFC 9110 Accept), via python-mimeparse."""

from __future__ import annotations

from collections.abc import Sequence

import mimeparse


def best_match(offers: Sequence[str], accept: str | None) -> str | None:
    """The offer the Accept header prefers, the first offer if no Accept, None if none fits."""
    if not offers:
        return None
    if not accept or not accept.strip():
        return offers[0]
    try:
        # mimeparse prefers the *last* of equal candidates; reverse to prefer our first offer.
        choice: str = mimeparse.best_match(list(reversed(offers)), accept)
    except (ValueError, IndexError):
        return offers[0]
    return choice or None
