"""Deadlines that long-running work checks cooperatively."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from semtwin.errors import QueryTimeout


@dataclass
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)
    in_engine: bool = True
    """Ask the engine to check the deadline itself while it joins (stops blocking work such
    as aggregates and sorts); otherwise it is checked between result rows only."""
    on_engine_expired: Callable[[], None] | None = field(default=None, repr=False)
    """Called in the engine thread when the engine-side check finds the deadline passed
    (a worker pool parks the thread there); the engine then abandons the query."""

    @property
    def at(self) -> float:
        return self.started + self.seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def check(self) -> None:
        if time.monotonic() >= self.at:
            raise QueryTimeout(f"query exceeded the timeout of {self.seconds:g} s")
