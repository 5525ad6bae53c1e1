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


class Negotiator:
    """``best_match`` with a bounded memo, for hot paths: clients repeat a few Accept
    headers, and parsing one costs about as much as answering a point lookup."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._memo: dict[tuple[tuple[str, ...], str | None], str | None] = {}

    def best_match(self, offers: Sequence[str], accept: str | None) -> str | None:
        key = (tuple(offers), accept)
        try:
            return self._memo[key]
        except KeyError:
            pass
        choice = best_match(offers, accept)
        if accept is None or len(accept) <= 512:
            if len(self._memo) >= self._size:
                self._memo.clear()  # callers in several threads: no iteration over it
            self._memo[key] = choice
        return choice
