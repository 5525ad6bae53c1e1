"""How a route reaches the runtime its app was built for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from semtwin.runtime import Semtwin


async def _runtime_dep(request: Request) -> Semtwin:
    return runtime_of(request)


def runtime_of(request: Request) -> Semtwin:
    """The tenant's runtime chosen by the access middleware, else the app's."""
    chosen = getattr(request.state, "runtime", None)
    if isinstance(chosen, Semtwin):
        return chosen
    runtime: Semtwin = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Semtwin, Depends(_runtime_dep)]
