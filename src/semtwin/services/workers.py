"""Worker threads for store work, with deadlines, back-pressure and parking.

pyoxigraph releases the GIL while it evaluates, so store calls in threads run in parallel.
At most ``size`` queries run at once per pool. A query past its deadline is answered with
``QueryTimeout`` at once; if the engine is still working on it, the engine-side guard parks
the engine thread (ADR 0002): it stops using CPU, gives its slot back, and waits idle until
shutdown. Separate pools keep runaway analyst queries away from lookups and writes.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from semtwin.deadline import Deadline
from semtwin.errors import Busy, QueryTimeout

T = TypeVar("T")


class WorkerPool:
    def __init__(self, name: str, workers: int, *, max_parked: int = 32) -> None:
        self.name = name
        self.size = workers
        self.max_parked = max_parked
        self._pool = ThreadPoolExecutor(max_workers=workers + max_parked,
                                        thread_name_prefix=f"semtwin-{name}")
        self._lock = threading.Lock()
        self._running = 0
        self._parked = 0
        self._late = 0
        self._shutdown = threading.Event()
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> int:
        """Queries the engine is working on (parked ones excluded)."""
        return self._running - self._parked

    @property
    def late(self) -> int:
        """Queries answered with a timeout that the engine is still working on."""
        return max(self._late - self._parked, 0)

    @property
    def parked(self) -> int:
        return self._parked

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots = asyncio.Semaphore(self.size)
            self._loop = loop
        return self._slots

    async def run(self, fn: Callable[[], T], deadline: Deadline | None = None) -> T:
        """Run ``fn`` in the pool; past ``deadline`` raise ``QueryTimeout`` without waiting."""
        if self._parked >= self.max_parked:
            raise Busy(f"{self._parked} {self.name} queries are parked past their timeout; "
                       "restart the server to reclaim them", retry_after=30)
        slots = self._semaphore()
        loop = asyncio.get_running_loop()
        try:
            if deadline is None:
                await slots.acquire()
            else:
                await asyncio.wait_for(slots.acquire(), max(deadline.remaining(), 0))
        except TimeoutError:
            raise QueryTimeout(
                f"query waited past its timeout of {deadline.seconds:g} s for a worker"  # type: ignore[union-attr]
            ) from None
        released = threading.Event()

        def release_slot() -> None:
            if not released.is_set():
                released.set()
                loop.call_soon_threadsafe(slots.release)

        def park() -> None:
            release_slot()
            with self._lock:
                self._parked += 1
            self._shutdown.wait()

        if deadline is not None:
            deadline.on_engine_expired = park

        def work() -> T:
            with self._lock:
                self._running += 1
            try:
                return fn()
            finally:
                with self._lock:
                    self._running -= 1
                release_slot()

        # the request's context (its write warnings, say) follows the work into the thread
        future = self._pool.submit(contextvars.copy_context().run, work)
        wrapped = asyncio.wrap_future(future)
        if deadline is None:
            return await wrapped
        try:
            return await asyncio.wait_for(asyncio.shield(wrapped), max(deadline.remaining(), 0))
        except TimeoutError:
            with self._lock:
                self._late += 1
            future.add_done_callback(self._on_late_finish)
            wrapped.add_done_callback(_consume_exception)
            raise QueryTimeout(f"query exceeded the timeout of {deadline.seconds:g} s") from None

    def _on_late_finish(self, _future: Future[Any]) -> None:
        with self._lock:
            self._late -= 1

    def run_sync(self, fn: Callable[[], T], deadline: Deadline | None = None) -> T:
        """Run ``fn`` from synchronous code (the CLI), with the same deadline."""
        future = self._pool.submit(fn)
        timeout = None if deadline is None else max(deadline.remaining(), 0)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            raise QueryTimeout(f"query exceeded the timeout of {deadline.seconds:g} s") from None  # type: ignore[union-attr]

    def shutdown(self) -> None:
        self._shutdown.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _consume_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
