"""Thread pools that run store work off the event loop, with deadlines and back-pressure.

pyoxigraph releases the GIL while it evaluates, so store calls in threads run in parallel.
A query blocked inside the engine cannot be interrupted from Python: when its deadline passes
the caller gets ``QueryTimeout`` at once, and the thread is counted as *stuck* until the engine
returns. Streaming work checks the deadline between rows and really stops. Separate pools keep
runaway analyst queries away from lookups.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from semtwin.deadline import Deadline
from semtwin.errors import Busy, QueryTimeout

T = TypeVar("T")


class WorkerPool:
    def __init__(self, name: str, workers: int) -> None:
        self.name = name
        self.size = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"semtwin-{name}")
        self._lock = threading.Lock()
        self._running = 0
        self._stuck = 0

    @property
    def stuck(self) -> int:
        return self._stuck

    @property
    def running(self) -> int:
        return self._running

    def _wrap(self, fn: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            with self._lock:
                self._running += 1
            try:
                return fn()
            finally:
                with self._lock:
                    self._running -= 1

        return run

    def _on_late_finish(self, _future: Future[Any]) -> None:
        with self._lock:
            self._stuck -= 1

    async def run(self, fn: Callable[[], T], deadline: Deadline | None = None) -> T:
        """Run ``fn`` in the pool; past ``deadline`` raise ``QueryTimeout`` without waiting."""
        if self._stuck >= self.size:
            raise Busy(
                f"all {self.size} {self.name} workers are busy with queries past their timeout",
                retry_after=5,
            )
        future = self._pool.submit(self._wrap(fn))
        wrapped = asyncio.wrap_future(future)
        if deadline is None:
            return await wrapped
        try:
            return await asyncio.wait_for(asyncio.shield(wrapped), max(deadline.remaining(), 0))
        except TimeoutError:
            if future.cancel():
                raise QueryTimeout(
                    f"query waited past its timeout of {deadline.seconds:g} s for a worker"
                ) from None
            with self._lock:
                self._stuck += 1
            future.add_done_callback(self._on_late_finish)
            wrapped.add_done_callback(_consume_exception)
            raise QueryTimeout(f"query exceeded the timeout of {deadline.seconds:g} s") from None

    def run_sync(self, fn: Callable[[], T], deadline: Deadline | None = None) -> T:
        """The same from synchronous code (CLI)."""
        future = self._pool.submit(self._wrap(fn))
        timeout = None if deadline is None else max(deadline.remaining(), 0)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            raise QueryTimeout(f"query exceeded the timeout of {deadline.seconds:g} s") from None  # type: ignore[union-attr]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _consume_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
