"""Storage backends behind one protocol. Nothing above this package sees a backend's types."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
from semtwin.store.scratch import ScratchStore

if TYPE_CHECKING:
    from semtwin.settings import Settings

__all__ = [
    "AskResult",
    "GraphResult",
    "QueryDataset",
    "QueryResult",
    "ScratchStore",
    "SelectResult",
    "StoreCapabilities",
    "TwinStore",
    "UpdateDataset",
    "open_store",
]


def open_store(settings: Settings) -> TwinStore:
    """Open the backend the settings name: ``memory``, a directory, or a remote URL."""
    location = settings.store
    if settings.remote:
        from semtwin.store.remote import RemoteEndpoints, RemoteStore

        endpoints = RemoteEndpoints.from_location(
            location,
            auth=settings.remote_auth,
            timeout=settings.remote_timeout,
            retries=settings.remote_retries,
            union_default_graph=settings.remote_union_default_graph,
            gsp_url=settings.remote_gsp_url,
        )
        return RemoteStore(endpoints)
    from semtwin.store.embedded import EmbeddedStore

    if location == "memory":
        return EmbeddedStore(None)
    return EmbeddedStore(Path(location).expanduser())
