"""Storage backends behind one protocol. Nothing above this package sees a backend's types."""

from __future__ import annotations

from pathlib import Path

from semtwin.store._protocol import (
    AskResult,
    GraphResult,
    QueryDataset,
    QueryResult,
    SelectResult,
    StoreCapabilities,
    TwinStore,
    UpdateDataset,
)

__all__ = [
    "AskResult",
    "GraphResult",
    "QueryDataset",
    "QueryResult",
    "SelectResult",
    "StoreCapabilities",
    "TwinStore",
    "UpdateDataset",
    "open_store",
]


def open_store(location: str) -> TwinStore:
    """Open a backend from a location: ``memory``, or a directory for the embedded store."""
    from semtwin.store.embedded import EmbeddedStore

    if location == "memory":
        return EmbeddedStore(None)
    return EmbeddedStore(Path(location).expanduser())
