"""``/healthz``: liveness plus what an operator needs to see at a glance."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from semtwin import __version__
from semtwin.errors import InvalidInput
from semtwin.http._runtime import RuntimeDep


def build_router() -> APIRouter:
    router = APIRouter(tags=["Operations"])

    @router.get("/healthz", summary="Health and worker status")
    async def healthz(runtime: RuntimeDep) -> dict[str, Any]:
        caps = runtime.store.capabilities
        return {
            "status": "ok",
            "version": __version__,
            "store": {"backend": caps.name, "persistent": caps.persistent,
                      "union_default_graph": caps.union_default_graph,
                      "triple_terms": caps.extra.get("triple_terms", True),
                      "write_lock": runtime.settings.write_lock},
            "compaction": {"after_updates": runtime.settings.compact_after_updates,
                           "runs": runtime.compactor.runs},
            "workers": {
                pool.name: {"size": pool.size, "running": pool.running, "late": pool.late,
                            "parked": pool.parked}
                for pool in (runtime.query_pool, runtime.lookup_pool)
            },
        }

    @router.post("/api/v1/admin/backup", summary="Back up the embedded store (a RocksDB "
                 "checkpoint) under the server's backup directory", status_code=201)
    async def backup(runtime: RuntimeDep,
                     name: Annotated[str | None, Query(
                         pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                         description="the backup's name (default: the time)")] = None,
                     ) -> dict[str, str]:
        settings = runtime.settings
        if settings.in_memory or settings.remote:
            raise InvalidInput("only the embedded on-disk store is backed up here; "
                               "dump it, or use the remote store's own tools")
        root = Path(settings.backup_dir or f"{settings.store}.backups")
        target = root / (name or datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ"))
        root.mkdir(parents=True, exist_ok=True)
        await runtime.lookup_pool.run(lambda: runtime.store.backup(target))
        return {"backup": str(target)}

    @router.post("/api/v1/admin/compact", summary="Compact the embedded store: reads of twins "
                 "updated many times slow down until their old versions are compacted away")
    async def compact(runtime: RuntimeDep) -> dict[str, float]:
        started = time.monotonic()
        await runtime.lookup_pool.run(runtime.store.compact)
        return {"seconds": round(time.monotonic() - started, 3)}

    return router
