"""What the server has learnt about each query text: how long it took, whether it finished.

Used to choose how to run a query (ADR 0005): queries proven fast run on the event loop,
queries proven to finish run in a worker without the engine-side deadline guard, and
unknown or slow queries run in a worker with it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum


class Plan(Enum):
    INLINE = "inline"
    """Known to take under ``inline_ms``: run on the event loop, guarded by a short budget."""
    TRUSTED = "trusted"
    """Known to finish well within the timeout: worker thread, deadline checked between rows."""
    GUARDED = "guarded"
    """Unknown or slow: worker thread with the engine-side deadline guard."""


@dataclass
class _Profile:
    ewma_ms: float
    runs: int
    timed_out: bool


class QueryProfiles:
    """A bounded LRU of query profiles, owned by one runtime (thread-safe)."""

    def __init__(self, *, capacity: int = 4096, inline_ms: float = 2.0,
                 trusted_fraction: float = 0.1) -> None:
        self._entries: OrderedDict[str, _Profile] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity
        self.inline_ms = inline_ms
        self.trusted_fraction = trusted_fraction

    def plan(self, key: str, timeout_s: float) -> Plan:
        with self._lock:
            profile = self._entries.get(key)
            if profile is None or profile.timed_out:
                return Plan.GUARDED
            self._entries.move_to_end(key)
        if profile.ewma_ms <= self.inline_ms:
            return Plan.INLINE
        if profile.ewma_ms <= timeout_s * 1000 * self.trusted_fraction:
            return Plan.TRUSTED
        return Plan.GUARDED

    def record(self, key: str, elapsed_ms: float) -> None:
        with self._lock:
            profile = self._entries.get(key)
            if profile is None:
                self._entries[key] = _Profile(elapsed_ms, 1, False)
                if len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
            else:
                profile.ewma_ms = 0.7 * profile.ewma_ms + 0.3 * elapsed_ms
                profile.runs += 1
                profile.timed_out = False
                self._entries.move_to_end(key)

    def record_timeout(self, key: str) -> None:
        with self._lock:
            self._entries[key] = _Profile(float("inf"), 1, True)
            self._entries.move_to_end(key)
            if len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
