"""``/healthz``: liveness plus what an operator needs to see at a glance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from semtwin import __version__
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
            "workers": {
                pool.name: {"size": pool.size, "running": pool.running, "late": pool.late,
                            "parked": pool.parked}
                for pool in (runtime.query_pool, runtime.lookup_pool)
            },
        }

    @router.post("/api/v1/admin/backup", summary="Back up the embedded store to a directory",
                 status_code=201)
    async def backup(runtime: RuntimeDep, target: str) -> dict[str, str]:
        from pathlib import Path

        await runtime.lookup_pool.run(lambda: runtime.store.backup(Path(target)))
        return {"backup": target}

    return router
