"""Small writes run where the request arrived, unless something would make them wait.

Handing a write to a worker thread costs more interpreter time than a small write itself
(the event loop and the worker take turns at the interpreter lock: ADR 0012, session 14
addendum). So the HTTP layer runs a small twin write on the event loop, with waiting
forbidden: every lock the write path takes is then only tried, and a lock held elsewhere
(a large import, another write in a worker, shapes being recompiled) raises ``WouldWait``
before anything is written; the caller then runs the whole write again in the worker pool,
where waiting is harmless. The event loop therefore never blocks on another thread's work.
Work too large for the event loop refuses the same way (``refuse``): a commit of more than
``LARGE_CHANGE`` quads, a validation of more than ``LARGE_FOCUS`` focus nodes or of the
whole store, a shapes recompile.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

LARGE_CHANGE = 1000
"""Quads added and removed by one commit above which a write leaves the event loop."""
LARGE_FOCUS = 256
"""Focus nodes a write's validation visits above which it leaves the event loop."""


class WouldWait(Exception):
    """Raised in a no-wait section at a lock held elsewhere; nothing was written."""


class NoWait(threading.local):
    """Per thread: whether the code running may wait for locks (by default it may)."""

    def __init__(self) -> None:
        self.forbidden = False

    @contextlib.contextmanager
    def section(self) -> Iterator[None]:
        """Run the body with waiting forbidden on this thread."""
        self.forbidden = True
        try:
            yield
        finally:
            self.forbidden = False

    @contextlib.contextmanager
    def holding(self, lock: threading.Lock) -> Iterator[None]:
        """``with lock``, except that in a no-wait section a lock held elsewhere raises
        ``WouldWait`` instead of blocking."""
        if self.forbidden:
            if not lock.acquire(blocking=False):
                raise WouldWait
        else:
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def refuse(self) -> None:
        """Work too slow for the event loop is ahead: in a no-wait section, hand over."""
        if self.forbidden:
            raise WouldWait
