"""Compaction of the embedded store (``POST /api/v1/admin/compact``, ``semtwin compact``):
reads of a twin slow down with every update it had, since RocksDB steps over each deleted
version until compaction removes it (docs/operations.md); compacting changes no data."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.conftest import OxigraphServer, ServerProcess, free_port
from tests.test_cli import semtwin

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def _count(url: str) -> int:
    answer = httpx.get(f"{url}/sparql", params={"query": COUNT},
                       headers={"Accept": "application/sparql-results+json"})
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def test_compaction_keeps_every_statement_and_writes_no_event(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    server = ServerProcess(store=store, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        twin = f"{server.url}/api/v1/twins/hot"
        assert httpx.put(twin, json={"properties": {"https://ex.org/temp": 0}}
                         ).status_code == 201
        with httpx.Client(timeout=30) as client:
            for i in range(1, 801):  # a device's state updates: each replaces the value
                answer = client.post(f"{twin}/state", json={
                    "eventId": f"e{i}", "sourceTime": f"2026-11-26T10:{i // 60:02d}:"
                    f"{i % 60:02d}Z", "properties": {"https://ex.org/temp": i}})
                assert answer.status_code == 200 and answer.json()["applied"]
        before = httpx.get(twin)
        head = httpx.get(f"{server.url}/api/v1/events", params={
            "after": 790, "limit": 1000}).json()["last"]
        statements = _count(server.url)
        compacted = httpx.post(f"{server.url}/api/v1/admin/compact", timeout=300)
        assert compacted.status_code == 200, compacted.text
        assert compacted.json()["seconds"] >= 0
        after = httpx.get(twin)
        assert after.json() == before.json()
        assert after.json()["properties"]["https://ex.org/temp"] == 800
        assert after.headers["etag"] == before.headers["etag"]
        assert _count(server.url) == statements
        assert httpx.get(f"{server.url}/api/v1/events", params={
            "after": 790, "limit": 1000}).json()["last"] == head
    finally:
        server.stop()
    done = semtwin("compact", "--store", store)
    assert "compacted in" in done.stderr
    again = ServerProcess(store=store, port=free_port(), log_path=tmp_path / "again.log").start()
    try:
        assert httpx.get(f"{again.url}/api/v1/twins/hot").json()["properties"][
            "https://ex.org/temp"] == 800
    finally:
        again.stop()


def test_a_remote_store_is_not_compacted_here(tmp_path: Path,
                                              oxigraph_server: OxigraphServer) -> None:
    server = ServerProcess(store=oxigraph_server.location, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        refused = httpx.post(f"{server.url}/api/v1/admin/compact")
        assert refused.status_code == 400
        assert "own tools" in refused.json()["detail"]
    finally:
        server.stop()
    refused_cli = semtwin("compact", "--store", oxigraph_server.location, check=False)
    assert refused_cli.returncode != 0 and "own tools" in refused_cli.stderr


def test_a_hot_twin_starts_a_background_compaction(tmp_path: Path) -> None:
    """With SEMTWIN_COMPACT_AFTER_UPDATES=100, the 100th write of one twin starts a
    compaction in the background; writes go on meanwhile and nothing is lost."""
    server = ServerProcess(store=str(tmp_path / "db"), port=free_port(),
                           log_path=tmp_path / "server.log",
                           env={"SEMTWIN_COMPACT_AFTER_UPDATES": "100"}).start()
    try:
        health = httpx.get(f"{server.url}/healthz").json()["compaction"]
        assert health == {"after_updates": 100, "runs": 0}
        twin = f"{server.url}/api/v1/twins/hot"
        with httpx.Client(timeout=30) as client:
            for i in range(90):  # 90 different twins once each: none is hot
                assert client.put(f"{server.url}/api/v1/twins/cold{i}", json={}
                                  ).status_code == 201
            assert httpx.get(f"{server.url}/healthz").json()["compaction"]["runs"] == 0
            assert client.put(twin, json={"properties": {"https://ex.org/temp": 0}}
                              ).status_code == 201
            for i in range(1, 150):
                assert client.post(f"{twin}/state", json={
                    "eventId": f"e{i}", "sourceTime": "2026-11-26T10:00:00Z",
                    "properties": {"https://ex.org/temp": i}}).status_code == 200
        assert httpx.get(f"{server.url}/healthz").json()["compaction"]["runs"] >= 1
        assert httpx.get(twin).json()["properties"]["https://ex.org/temp"] == 149
        assert httpx.get(f"{server.url}/api/v1/twins/cold89").status_code == 200
    finally:
        server.stop()


def test_sparql_updates_count_for_the_resources_they_rewrite(tmp_path: Path) -> None:
    """A SPARQL update counts for each resource it deletes statements of (where RocksDB's
    tombstones land), not as one resource for all updates: inserts of new resources never
    start a compaction, rewriting one resource does."""
    server = ServerProcess(store=str(tmp_path / "db"), port=free_port(),
                           log_path=tmp_path / "server.log",
                           env={"SEMTWIN_COMPACT_AFTER_UPDATES": "100"}).start()

    def runs() -> int:
        return int(httpx.get(f"{server.url}/healthz").json()["compaction"]["runs"])

    try:
        with httpx.Client(timeout=30) as client:
            for i in range(150):  # new resources only: nothing is deleted
                assert client.post(f"{server.url}/sparql", data={"update": (
                    f"INSERT DATA {{ GRAPH <urn:g:meters> {{ <urn:meter:{i}> "
                    f"<https://ex.org/reading> {i} }} }}")}).status_code == 204
            assert runs() == 0
            for i in range(150):  # one meter's reading replaced again and again
                assert client.post(f"{server.url}/sparql", data={"update": (
                    "DELETE { GRAPH <urn:g:meters> { <urn:meter:0> <https://ex.org/reading> ?v } }"
                    f" INSERT {{ GRAPH <urn:g:meters> {{ <urn:meter:0> <https://ex.org/reading> "
                    f"{1000 + i} }} }} WHERE {{ GRAPH <urn:g:meters> {{ <urn:meter:0> "
                    "<https://ex.org/reading> ?v } }")}).status_code == 204
        assert runs() >= 1
        assert _count(server.url) >= 150
    finally:
        server.stop()
