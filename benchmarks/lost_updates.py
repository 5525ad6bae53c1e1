"""How many conflicting If-Match writes are lost with two API processes over one store.

``python -m benchmarks lost-updates [--store oxigraph|virtuoso] [--writes 30]``: two semtwin
processes over one remote store, six clients incrementing one twin with If-Match through
both, without and then with a shared ``SEMTWIN_WRITE_LOCK``. Each increment is retried on 412
until acknowledged, so when conflicting updates are serialized the final count equals the
number of writes and the journal sequence is gap-free. Reported, not asserted: without the
lock, the outcome depends on timing.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from benchmarks._servers import Server, free_port, fresh_virtuoso, semtwin_server


def _increment(url: str) -> None:
    while True:
        current = httpx.get(url)
        count = current.json()["properties"]["https://ex.org/count"]
        response = httpx.put(url, timeout=30, headers={"If-Match": current.headers["etag"]},
                             json={"properties": {"https://ex.org/count": count + 1}})
        if response.status_code == 200:
            return
        if response.status_code != 412:
            raise RuntimeError(f"unexpected {response.status_code}: {response.text}")


def measure(location: str, work: Path, writes: int, lock: bool) -> dict[str, Any]:
    apis = [semtwin_server(work / f"db-{i}", work / f"api-{i}.log") for i in range(2)]
    for api in apis:
        api.command[api.command.index("--store") + 1] = location
        if lock:
            api.env["SEMTWIN_WRITE_LOCK"] = str(work / "writers.lock")
        api.start()
    try:
        base = [api.endpoint.removesuffix("/sparql") for api in apis]
        twin = f"/api/v1/twins/counter-{os.getpid()}"
        httpx.put(base[0] + twin, json={"properties": {"https://ex.org/count": 0}}
                  ).raise_for_status()
        start = httpx.get(base[0] + "/api/v1/events", params={"after": 0}).json()["last"]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda i: _increment(base[i % 2] + twin), range(writes)))
        final = httpx.get(base[1] + twin).json()["properties"]["https://ex.org/count"]
        events = httpx.get(base[1] + "/api/v1/events",
                           params={"after": start, "limit": 1000}).json()["events"]
        sequences = [e["sequence"] for e in events]
        return {"write_lock": lock, "writes": writes, "final_count": final,
                "lost": writes - final,
                "events": len(events),
                "gap_free": sequences == list(range(start + 1, start + 1 + len(events)))}
    finally:
        for api in apis:
            api.stop()


def main(store: str, writes: int) -> list[dict[str, Any]]:
    """Without, then with a shared ``SEMTWIN_WRITE_LOCK``."""
    return [_run(store, writes, lock) for lock in (False, True)]


def _run(store: str, writes: int, lock: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if store == "virtuoso":
            with fresh_virtuoso(work) as location:
                return measure(location, work, writes, lock)
        port = free_port()
        binary = str(Path(sys.executable).with_name("oxigraph"))
        backend = Server("oxigraph", [binary, "serve", "--location", str(work / "ox"),
                                      "--bind", f"127.0.0.1:{port}"], "/query", port,
                         work / "oxigraph.log")
        backend.start()
        try:
            return measure(f"oxigraph+http://127.0.0.1:{port}", work, writes, lock)
        finally:
            backend.stop()
