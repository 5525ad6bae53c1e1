"""Twin writes survive a hard kill of the server; the change feed continues across restarts."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
from tests.conftest import ServerProcess, free_port


def test_kill_9_mid_stream_loses_no_acknowledged_write(start_server: type[ServerProcess],
                                                      tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    port = free_port()
    server = start_server(store=store, port=port).start()
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                body = {"$types": ["https://ex.org/Sensor"],
                        "properties": {"https://ex.org/n": i,
                                       "https://ex.org/tags": ["a", "b", "c"]}}
                try:
                    response = client.put(f"/api/v1/twins/s{i}", json=body)
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    acknowledged.append(i)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.5)
    server.stop(signal.SIGKILL)  # in the middle of the stream
    stop.set()
    thread.join(timeout=10)
    assert len(acknowledged) > 10

    again = start_server(store=store, port=port).start()
    with httpx.Client(base_url=again.url) as client:
        for i in acknowledged:
            twin = client.get(f"/api/v1/twins/s{i}")
            assert twin.status_code == 200
            assert twin.json()["properties"]["https://ex.org/n"] == i
        # no half-written twin: every twin with metadata has all of its statements
        count = client.get("/sparql", params={"query": (
            "SELECT (COUNT(?t) AS ?n) WHERE { GRAPH <urn:semtwin:meta> { ?t ?p ?e } "
            "FILTER(?p = <https://semtwin.dev/ns#etag> && STRSTARTS(STR(?t), \"urn:twin:\")) "
            "FILTER NOT EXISTS { GRAPH ?t { ?t <https://ex.org/tags> \"c\" } } }")}).json()
        assert count["results"]["bindings"][0]["n"]["value"] == "0"
        sequences: list[int] = []
        while True:  # a page holds at most 1,000 events; a fast machine writes more
            page = client.get("/api/v1/events", params={
                "after": sequences[-1] if sequences else 0, "limit": 1000}).json()
            if not page["events"]:
                break
            sequences += [e["sequence"] for e in page["events"]]
        assert sequences == list(range(1, len(sequences) + 1))
        assert len(sequences) >= len(acknowledged)


def test_change_feed_continues_across_restart(start_server: type[ServerProcess],
                                              tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    port = free_port()
    first = start_server(store=store, port=port).start()
    start = httpx.get(f"{first.url}/api/v1/events", params={"after": 0}).json()["last"]
    for i in range(3):
        assert httpx.put(f"{first.url}/api/v1/twins/t{i}", json={}).status_code == 201
    seen = httpx.get(f"{first.url}/api/v1/events", params={"after": 0}).json()
    assert seen["last"] == start + 3
    first.stop()
    second = start_server(store=store, port=port).start()
    assert httpx.put(f"{second.url}/api/v1/twins/t3", json={}).status_code == 201
    resumed = httpx.get(f"{second.url}/api/v1/events", params={"after": seen["last"]}).json()
    assert [e["sequence"] for e in resumed["events"]] == [start + 4]
    assert resumed["events"][0]["subject"] == "urn:twin:t3"
    # a long-poll returns as soon as the next event is committed
    result: dict[str, object] = {}

    def poll() -> None:
        result["body"] = httpx.get(f"{second.url}/api/v1/events",
                                   params={"after": start + 4, "wait": 20}, timeout=30).json()

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    assert httpx.put(f"{second.url}/api/v1/twins/t4", json={}).status_code == 201
    thread.join(timeout=25)
    body = result["body"]
    assert isinstance(body, dict)
    assert [e["sequence"] for e in body["events"]] == [start + 5]
