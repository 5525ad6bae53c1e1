"""Deadlines that long-running work checks cooperatively."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from semtwin.errors import QueryTimeout


@dataclass
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

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
