"""``GET /api/v1/audit`` (admin): every write and model change with its actor, tenant, time,
request id, door and change, read from the tenant's journal (append-only: no route changes
it)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from semtwin.http._runtime import RuntimeDep
from semtwin.http.auth import principal_of

_DOORS = {"twin": "twin API", "relationship": "twin API", "batch": "twin API",
          "sparql": "SPARQL Update", "graph": "Graph Store", "model": "models API",
          "import": "imports", "demo": "serve --demo"}


def _entry(event: dict[str, Any], tenant: str | None) -> dict[str, Any]:
    kind = str(event["type"]).removeprefix("dev.semtwin.")
    return {"sequence": event["sequence"], "time": event["time"], "type": kind,
            "tenant": tenant,
            "door": _DOORS.get(kind.split(".", 1)[0], kind.split(".", 1)[0]),
            "actor": event.get("actor"), "requestId": event.get("requestid"),
            "subject": event["subject"], "change": event["data"]}


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Security"])

    @router.get("/audit", summary="The audit trail (admin): who changed what, when, how",
                response_class=Response)
    async def audit(request: Request, runtime: RuntimeDep, after: int = 0,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    actor: str | None = None) -> Response:
        events = await runtime.lookup_pool.run(
            lambda: runtime.pipeline.events(after, limit))
        principal = principal_of(request.state)
        tenant = principal.tenant if principal is not None else None
        entries = [_entry(e, tenant) for e in events
                   if actor is None or e.get("actor") == actor]
        last = events[-1]["sequence"] if events else after
        return Response(orjson.dumps({"entries": entries, "last": last}),
                        media_type="application/json")

    return router
