"""Writes through every door at once, from several threads: twins (put, patch, delete with
and without cascade), relationships (put, retarget, delete), batches, device state, SPARQL
Update (read-modify-write increments) and the Graph Store, racing over a few ids.

Whatever interleaving the threads take, the result must be one the writes could have had
one after the other: the journal is gap-free and redoes the store (``semtwin replay``), no
relationship hangs from or points at a missing twin, every twin and relationship has one
ETag, and every increment that was acknowledged counted."""

from __future__ import annotations

import concurrent.futures
import io
import random
import threading
from pathlib import Path

import pytest

from semtwin.errors import SemtwinError
from semtwin.rdf import NamedNode, RdfFormat
from semtwin.runtime import Semtwin
from semtwin.services.pipeline import META
from semtwin.settings import Settings
from semtwin.store import SelectResult, UpdateDataset

EX = "https://ex.org/"
ST = "https://semtwin.dev/ns#"
IDS = [f"c{n}" for n in range(5)]
COUNTER = f"GRAPH <{EX}counter> {{ <{EX}c> <{EX}n> ?n }}"
INCREMENT = (f"DELETE {{ {COUNTER} }} INSERT {{ GRAPH <{EX}counter> {{ <{EX}c> <{EX}n> ?m }} }}"
             f" WHERE {{ {COUNTER} BIND(?n + 1 AS ?m) }}")


def _random_write(runtime: Semtwin, rng: random.Random, increments: list[int]) -> None:
    twin_id, other = rng.choice(IDS), rng.choice(IDS)
    rel_id = f"r{rng.randrange(3)}"
    door = rng.randrange(11)
    body = {"$types": [EX + "Pump"], "properties": {EX + "n": rng.randrange(5)}}
    try:
        if door <= 1:
            runtime.twins.put(twin_id, body)
        elif door == 2:
            runtime.twins.patch(twin_id, "merge", {"properties": {EX + "m": rng.randrange(5)}})
        elif door == 3:
            def relationships() -> list[NamedNode]:
                return runtime.relationships.relationship_graphs(
                    runtime.twins.iri(twin_id), direction="both")
            runtime.twins.delete(twin_id,
                                 cascade=relationships if rng.random() < 0.7 else None)
        elif door <= 5:
            runtime.relationships.put(twin_id, rel_id, {
                "$relationshipName": "brick:feeds", "$targetId": other})
        elif door == 6:
            runtime.relationships.patch(twin_id, rel_id, "merge", {"$targetId": other})
        elif door == 7:
            runtime.relationships.delete(twin_id, rel_id)
        elif door == 8:
            runtime.batch.apply({"operations": [
                {"op": "put", "id": twin_id, "twin": body},
                {"op": "put", "id": other, "relationshipId": rel_id,
                 "relationship": {"$relationshipName": "brick:feeds",
                                  "$targetId": twin_id}}]})
        elif door == 9:
            runtime.state.update(twin_id, {
                "eventId": f"e{rng.randrange(1000)}",
                "sourceTime": f"2026-11-2{rng.randrange(8)}T10:00:00Z",
                "properties": {EX + "temp": rng.randrange(30)}})
        else:
            runtime.sparql.update(INCREMENT, UpdateDataset())
            increments.append(1)
    except SemtwinError:
        pass  # refused (a missing twin, relationships in the way, a 412): nothing written


def _dump(runtime: Semtwin) -> set[str]:
    out = io.BytesIO()
    runtime.store.dump(out, RdfFormat.N_QUADS)
    return {line for line in out.getvalue().decode().splitlines()
            if line and "<urn:semtwin:journal>" not in line and f"<{ST}updated>" not in line}


def _etag(runtime: Semtwin, twin_id: str) -> str | None:
    try:
        return runtime.twins.get(twin_id).etag
    except SemtwinError:
        return None


def _rows(runtime: Semtwin, query: str) -> list[tuple[str, ...]]:
    result = runtime.store.query(query, union_default_graph=False)
    assert isinstance(result, SelectResult)
    return [tuple("" if t is None else t.value for t in row) for row in result.rows]


@pytest.mark.parametrize("seed", range(2))
def test_concurrent_writes_through_every_door(tmp_path: Path, seed: int) -> None:
    _race(tmp_path, str(tmp_path / "db"), seed)


def test_concurrent_writes_on_each_backend(tmp_path: Path, store_location: str) -> None:
    """The same on a remote store, whose commits are conditional updates."""
    _race(tmp_path, store_location, 7)


def _race(tmp_path: Path, location: str, seed: int) -> None:
    runtime = Semtwin.open(Settings(store=location))
    try:
        runtime.sparql.update(f"INSERT DATA {{ GRAPH <{EX}counter> {{ <{EX}c> <{EX}n> 0 }} }}",
                              UpdateDataset())
        increments: list[int] = []
        start = threading.Barrier(6)

        def writer(worker: int) -> None:
            rng = random.Random(seed * 100 + worker)
            start.wait()
            for _ in range(60):
                _random_write(runtime, rng, increments)

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            for done in [pool.submit(writer, w) for w in range(6)]:
                done.result()

        assert _rows(runtime, f"SELECT ?n WHERE {{ {COUNTER} }}") == [(str(len(increments)),)]
        # no relationship without both its twins
        hanging = _rows(runtime, f"""SELECT ?r ?end WHERE {{
            GRAPH ?r {{ ?r <{ST}source>|<{ST}target> ?end }}
            FILTER NOT EXISTS {{ GRAPH {META} {{ ?end <{ST}etag> ?e }} }} }}""")
        assert hanging == []
        assert _rows(runtime, f"""SELECT ?s WHERE {{ GRAPH {META} {{ ?s <{ST}etag> ?e }} }}
            GROUP BY ?s HAVING (COUNT(?e) > 1)""") == []

        head = runtime.pipeline.journal_head()
        events = runtime.pipeline.events(0, 100_000)
        assert [e["sequence"] for e in events] == list(range(1, head + 1))
        rebuilt = Semtwin.open(Settings(store=str(tmp_path / "rebuilt")))
        try:
            for seq, changeset in runtime.pipeline.journal(0, 100_000):
                assert changeset is not None, seq
                rebuilt.pipeline.commit(changeset)
            if runtime.store.capabilities.in_process:  # a remote store spells literals its way
                assert _dump(rebuilt) == _dump(runtime)
            for twin_id in IDS:
                assert _etag(rebuilt, twin_id) == _etag(runtime, twin_id)
        finally:
            rebuilt.close()
        kinds = {e["type"].rsplit(".", 2)[-2] for e in events}
        assert {"twin", "relationship", "sparql"} <= kinds  # the doors were exercised
    finally:
        runtime.close()


