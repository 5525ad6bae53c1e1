"""Serializing the writes of several API processes over one remote store.

Oxigraph server evaluates concurrent updates on snapshots with no write-conflict detection,
and Virtuoso reads at read-committed without locking what it read: two processes can both
pass an ETag check, or both claim one journal sequence number. The processes then share an
advisory lock (``flock``) on a file they can all open (one host, or a file system with
working locks); each commit holds it while it validates and runs its update.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteLock:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Exclusive between processes; callers serialize their own threads first."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)
