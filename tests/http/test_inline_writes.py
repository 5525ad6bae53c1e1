"""Small twin writes run on the event loop, and only when nothing would make them wait
(``services/inline.py``): a write that meets a lock held elsewhere, or work too slow for the
event loop, runs in the worker pool instead, written once, validated the same, while the
event loop goes on answering."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from semtwin.http.app import create_app
from semtwin.rdf import Literal, NamedNode, Quad, RdfFormat
from semtwin.runtime import Semtwin
from semtwin.services.inline import LARGE_CHANGE, LARGE_FOCUS, NoWait, WouldWait
from semtwin.services.pipeline import Changeset
from semtwin.settings import Settings

NS = "https://ex.org/inline#"


def _runtime(tmp_path: Path) -> Semtwin:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.models.ensure_core()
    return runtime


def _client(runtime: Semtwin) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)),
                             base_url="http://127.0.0.1")


def _record_committing_threads(runtime: Semtwin) -> dict[str, list[str]]:
    """Subject IRI -> the names of the threads that committed its changes, in order."""
    seen: dict[str, list[str]] = {}
    after = runtime.pipeline.committed

    def committed(changesets: Sequence[Changeset]) -> None:
        for changeset in changesets:
            seen.setdefault(changeset.subject.value, []).append(
                threading.current_thread().name)
        if after is not None:
            after(changesets)

    runtime.pipeline.committed = committed
    return seen


def test_small_writes_commit_on_the_event_loop_large_ones_in_the_pool(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    threads = _record_committing_threads(runtime)
    loop_thread = threading.current_thread().name  # asyncio.run runs the loop here

    async def scenario() -> None:
        async with _client(runtime) as client:
            warm = await client.put("/api/v1/twins/warm", json={"properties": {}})
            assert warm.status_code == 201  # the first write compiles the shapes (pool)
            small = await client.put("/api/v1/twins/small",
                                     json={"properties": {"rdfs:label": "Small"}})
            large = await client.put("/api/v1/twins/large",
                                     json={"properties": {"rdfs:label": "x" * 20_000}})
            patched = await client.patch(
                "/api/v1/twins/small", json={"properties": {"rdfs:label": "Small 2"}},
                headers={"Content-Type": "application/merge-patch+json",
                         "If-Match": small.headers["etag"]})
            rel = await client.put("/api/v1/twins/small/relationships/r1",
                                   json={"$relationshipName": "brick:feeds",
                                         "$targetId": "large"})
            cascade = await client.delete("/api/v1/twins/large", params={"cascade": "true"})
            assert (small.status_code, large.status_code, patched.status_code,
                    rel.status_code, cascade.status_code) == (201, 201, 200, 201, 204)
            got = await client.get("/api/v1/twins/small")
            assert got.json()["properties"]["rdfs:label"] == "Small 2"

    asyncio.run(scenario())
    pool = "semtwin-lookup"
    assert threads[runtime.twins.iri("small").value] == [loop_thread, loop_thread]
    assert threads[runtime.relationships.iri("small", "r1").value][0] == loop_thread
    large = threads[runtime.twins.iri("large").value]  # its PUT, then the cascade delete
    assert len(large) == 2 and all(name.startswith(pool) for name in large)
    runtime.close()


def test_a_write_meeting_a_held_lock_waits_in_the_pool_while_the_loop_answers(
        tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    threads = _record_committing_threads(runtime)
    runtime.twins.put("warm", {"properties": {}})  # compiles the shapes
    slow = runtime.twins.iri("slow")
    inside, release = threading.Event(), threading.Event()
    check = runtime.pipeline.check
    assert check is not None

    def slow_check(changeset: Changeset) -> None:
        if changeset.subject == slow:  # holds the write lock until released
            inside.set()
            release.wait(30)
        check(changeset)

    runtime.pipeline.check = slow_check
    writer = threading.Thread(target=runtime.twins.put, args=("slow", {"properties": {}}))
    writer.start()
    assert inside.wait(10)
    head = runtime.pipeline.journal_head()

    async def scenario() -> tuple[int, int, bool]:
        async with _client(runtime) as client:
            put = asyncio.create_task(client.put("/api/v1/twins/fast",
                                                 json={"properties": {"rdfs:label": "F"}}))
            for _ in range(500):  # until the write (the lock busy: to the pool) waits there
                if runtime.lookup_pool.running:
                    break
                await asyncio.sleep(0.01)
            health = await client.get("/api/v1/twins/warm")  # the loop is not blocked
            pending = not put.done()
            release.set()
            return health.status_code, (await put).status_code, pending

    health, created, pending = asyncio.run(scenario())
    writer.join(10)
    assert (health, created, pending) == (200, 201, True)
    assert threads[runtime.twins.iri("fast").value][0].startswith("semtwin-lookup")
    assert runtime.pipeline.journal_head() == head + 2  # slow and fast, each once
    assert [e["subject"] for e in runtime.pipeline.events(head, 10)] == [
        slow.value, runtime.twins.iri("fast").value]
    runtime.close()


def test_a_write_refused_inline_by_new_shapes_is_validated_and_written_once(
        tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    threads = _record_committing_threads(runtime)
    runtime.twins.put("warm", {"properties": {}})
    model = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{NS}model> a owl:Ontology ; owl:versionInfo "1" .
<{NS}PumpShape> a sh:NodeShape ; sh:targetClass <{NS}Pump> ;
  sh:property [ sh:path <{NS}power> ; sh:datatype xsd:integer ; sh:maxInclusive 10 ] .
""".encode()
    runtime.models.upload(model, RdfFormat.TURTLE)
    runtime.models.set_status(f"{NS}model", "1", "active")
    head = runtime.pipeline.journal_head()

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with _client(runtime) as client:
            # the active models changed: the shapes are compiled again, not on the loop
            bad = await client.put("/api/v1/twins/p1", json={
                "$types": [f"{NS}Pump"], "properties": {f"{NS}power": 11}})
            good = await client.put("/api/v1/twins/p2", json={
                "$types": [f"{NS}Pump"], "properties": {f"{NS}power": 9}})
            return bad, good

    bad, good = asyncio.run(scenario())
    assert bad.status_code == 422 and "maxInclusive" in bad.text
    assert good.status_code == 201
    assert runtime.pipeline.journal_head() == head + 1
    assert [e["subject"] for e in runtime.pipeline.events(head, 10)] == [
        runtime.twins.iri("p2").value]
    assert threads[runtime.twins.iri("p2").value] == [threading.current_thread().name]
    runtime.close()


def test_no_wait_tries_locks_only_inside_a_section() -> None:
    no_wait, lock = NoWait(), threading.Lock()
    with no_wait.holding(lock):
        assert lock.locked()
    lock.acquire()
    with no_wait.section(), pytest.raises(WouldWait), no_wait.holding(lock):
        pass
    assert lock.locked() and not no_wait.forbidden
    lock.release()
    seen: list[bool] = []
    with no_wait.section():  # per thread: another thread may still wait
        worker = threading.Thread(target=lambda: seen.append(no_wait.forbidden))
        worker.start()
        worker.join()
    assert seen == [False]


def test_large_work_leaves_the_event_loop_before_anything_is_written(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    runtime.twins.put("warm", {"properties": {}})
    model = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
<{NS}model> a owl:Ontology ; owl:versionInfo "1" .
<{NS}PumpShape> a sh:NodeShape ; sh:targetClass <{NS}Pump> ;
  sh:property [ sh:path <{NS}power> ; sh:maxCount 1 ] .
""".encode()
    runtime.models.upload(model, RdfFormat.TURTLE)
    runtime.models.set_status(f"{NS}model", "1", "active")
    runtime.twins.put("after", {"properties": {}})  # the new shapes compiled
    graph = NamedNode("urn:g:bulk")
    rdf_type = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

    def change(quads: list[Quad]) -> Changeset:
        return Changeset(event_type="graph.updated", subject=graph, add=quads, data={})

    many_quads = [Quad(NamedNode(f"urn:x:{i}"), NamedNode(f"{NS}n"), Literal(str(i)), graph)
                  for i in range(LARGE_CHANGE + 1)]
    many_pumps = [Quad(NamedNode(f"urn:p:{i}"), rdf_type, NamedNode(f"{NS}Pump"), graph)
                  for i in range(LARGE_FOCUS + 1)]
    head = runtime.pipeline.journal_head()
    for quads in (many_quads, many_pumps):
        with runtime.pipeline.no_wait.section(), pytest.raises(WouldWait):
            runtime.pipeline.commit(change(quads))
        assert runtime.pipeline.journal_head() == head
        assert not runtime.store.graph_exists(graph) or not list(
            runtime.store.quads(None, None, None, graph))
    for quads in (many_quads, many_pumps):  # where waiting is allowed, both commit
        runtime.pipeline.commit(change(quads))
    assert runtime.pipeline.journal_head() == head + 2
    runtime.close()


def test_inline_writes_can_be_switched_off(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db"), inline_writes=False))
    runtime.models.ensure_core()
    threads = _record_committing_threads(runtime)

    async def scenario() -> None:
        async with _client(runtime) as client:
            for twin in ("a", "b"):
                put = await client.put(f"/api/v1/twins/{twin}", json={"properties": {}})
                assert put.status_code == 201

    asyncio.run(scenario())
    assert all(name.startswith("semtwin-lookup")
               for twin in ("a", "b") for name in threads[runtime.twins.iri(twin).value])
    runtime.close()
