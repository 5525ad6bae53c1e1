"""The journal against random writes through every door: twins (put, JSON Patch, Merge
Patch, delete, cascade delete), relationships (put, patch, retarget, delete), device state
(duplicates and stale times), batches, SPARQL Update, the Graph Store and idempotent
retries, with refused writes among them (stale ETags, missing twins, relationships in the
way, failed JSON Patch tests).

Checked: the change feed is gap-free and has one event per committed change (a refused
write adds none, a retried key none); a consumer reading from any position sees the rest
exactly once; and the journal redoes the store (``semtwin replay``): every statement, twin
document and ETag the same, blank nodes by count."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from semtwin.errors import SemtwinError
from semtwin.rdf import Literal, NamedNode, Quad, RdfFormat
from semtwin.runtime import Semtwin
from semtwin.services.pipeline import AlreadyApplied
from semtwin.settings import Settings
from semtwin.store import UpdateDataset

EX = "https://ex.org/"
IDS = [f"t{n}" for n in range(8)]
REL_IDS = ["r1", "r2"]


class Writer:
    def __init__(self, runtime: Semtwin, rng: random.Random) -> None:
        self.runtime = runtime
        self.rng = rng
        self.committed = 0  # changes the model expects in the journal
        self.refused = 0
        self.retried = 0
        self.keys: list[tuple[str, Callable[[str], Any]]] = []

    def _try(self, write: Callable[[], Any], events: int = 1) -> None:
        """Run a write that must add ``events`` events; a refusal (a SemtwinError) must
        leave none."""
        head = self.runtime.pipeline.journal_head()
        try:
            write()
        except SemtwinError:
            self.refused += 1
            assert self.runtime.pipeline.journal_head() == head
            return
        assert self.runtime.pipeline.journal_head() == head + events
        self.committed += events

    def _etag(self, twin_id: str) -> str | None:
        try:
            return self.runtime.twins.get(twin_id).etag
        except SemtwinError:
            return None

    def _twin(self) -> dict[str, Any]:
        rng = self.rng
        return {"$types": [rng.choice([EX + "Pump", EX + "Fan"])], "properties": {
            EX + "n": rng.choice([1, 2.5, "x", [1, 2]]), "rdfs:label": rng.choice(["a", "b"])}}

    def step(self) -> None:
        rng, rt = self.rng, self.runtime
        twin_id, other = rng.choice(IDS), rng.choice(IDS)
        rel_id = rng.choice(REL_IDS)
        door = rng.randrange(14)
        if door <= 2:
            stale = rng.random() < 0.2
            match = "0" * 32 if stale else None
            self._try(lambda: rt.twins.put(twin_id, self._twin(), if_match=match))
        elif door == 3:
            self._try(lambda: rt.twins.patch(twin_id, "merge", {"properties": {
                EX + "n": rng.choice([None, 3, "y"])}}, if_match=self._etag(twin_id)))
        elif door == 4:
            self._try(lambda: rt.twins.patch(twin_id, "json", [
                {"op": "test", "path": "/$types/0", "value": EX + "Pump"},
                {"op": "add", "path": f"/properties/{EX.replace('/', '~1')}m", "value": 7}]))
        elif door == 5:
            cascade = rng.random() < 0.5

            def relationships() -> list[NamedNode]:
                return rt.relationships.relationship_graphs(rt.twins.iri(twin_id),
                                                            direction="both")
            count = len(relationships()) if cascade and self._etag(twin_id) else 0
            self._try(lambda: rt.twins.delete(
                twin_id, cascade=relationships if cascade else None), events=1 + count)
        elif door == 6:
            self._try(lambda: rt.relationships.put(twin_id, rel_id, {
                "$relationshipName": "brick:feeds", "$targetId": other,
                "properties": {EX + "w": rng.randrange(3)}}))
        elif door == 7:
            self._try(lambda: rt.relationships.patch(twin_id, rel_id, "merge",
                                                     {"$targetId": other}))
        elif door == 8:
            self._try(lambda: rt.relationships.delete(twin_id, rel_id))
        elif door == 9:
            event = f"e{rng.randrange(6)}"
            time = f"2026-11-2{rng.randrange(8)}T10:00:00Z"
            head = rt.pipeline.journal_head()
            try:
                answer = rt.state.update(twin_id, {"eventId": event, "sourceTime": time,
                                                   "properties": {EX + "temp": 20}})
            except SemtwinError:
                self.refused += 1
                assert rt.pipeline.journal_head() == head
                return
            moved = rt.pipeline.journal_head() - head
            # a duplicate, or values all older than the stored ones: nothing to write
            assert moved == (1 if answer["applied"] else 0), answer
            assert not (answer["duplicate"] and answer["applied"]), answer
            self.committed += moved
        elif door == 10:
            ops = [{"op": "put", "id": i, "twin": self._twin()}
                   for i in rng.sample(IDS, 2)]
            if rng.random() < 0.3:
                ops.append({"op": "delete", "id": "never-there"})  # the batch is refused
            self._try(lambda: rt.batch.apply({"operations": ops}), events=len(ops))
        elif door == 11:
            iri = rt.twins.iri(twin_id).value
            value = rng.randrange(9)
            changes = self._etag(twin_id) is not None and not rt.store.contains(Quad(
                NamedNode(iri), NamedNode(f"{EX}s"), Literal(value), NamedNode(iri)))
            # an update that changes nothing is no event
            self._try(lambda: rt.sparql.update(
                f"INSERT {{ GRAPH <{iri}> {{ <{iri}> <{EX}s> {value} }} }} "
                f"WHERE {{ GRAPH <{iri}> {{ <{iri}> a ?c }} }}", UpdateDataset()),
                events=int(changes))
        elif door == 12:
            graph = NamedNode(f"http://e/g{rng.randrange(2)}")
            body = f"<http://e/s> <http://e/p> [ <http://e/q> {rng.randrange(5)} ] .".encode()
            if rng.random() < 0.5:
                self._try(lambda: rt.graphs.put(graph, body, "text/turtle", None))
            else:
                self._try(lambda: rt.graphs.delete(graph))
        else:  # a write with an idempotency key, sent again later
            key = f"k{rng.randrange(4)}"
            body = self._twin()
            head = rt.pipeline.journal_head()
            try:
                rt.twins.put(twin_id, body, idempotency_key=f"PUT /{twin_id} {key}")
            except AlreadyApplied:  # the HTTP layer answers the first response again
                assert rt.pipeline.journal_head() == head
                self.retried += 1
                return
            except SemtwinError:
                self.refused += 1
                return
            assert rt.pipeline.journal_head() == head + 1
            self.committed += 1


def _statements(runtime: Semtwin) -> tuple[set[str], int]:
    out = io.BytesIO()
    runtime.store.dump(out, RdfFormat.N_QUADS)
    lines = [line for line in out.getvalue().decode().splitlines() if line
             and "<urn:semtwin:journal>" not in line
             and "<https://semtwin.dev/ns#updated>" not in line]
    return {line for line in lines if "_:" not in line}, sum("_:" in line for line in lines)


@pytest.mark.parametrize("seed", range(3))
def test_the_journal_follows_every_door_and_redoes_the_store(tmp_path: Path,
                                                              seed: int) -> None:
    _journal_model(tmp_path, str(tmp_path / "db"), seed, 250)


def test_the_journal_of_a_remote_store(tmp_path: Path, store_location: str) -> None:
    """The same on each backend: a remote store's commits are conditional updates that
    claim their sequence number (an embedded store's are written as data)."""
    _journal_model(tmp_path, store_location, 0, 200)


def _journal_model(tmp_path: Path, location: str, seed: int, steps: int) -> None:
    runtime = Semtwin.open(Settings(store=location))
    writer = Writer(runtime, random.Random(seed))
    for _ in range(steps):
        writer.step()
    # each kind was exercised
    assert writer.committed > steps // 3 and writer.refused > 5 and writer.retried > 0

    events = runtime.pipeline.events(0, 10_000)
    assert [event["sequence"] for event in events] == list(range(1, writer.committed + 1))
    start = random.Random(seed).randrange(writer.committed)
    tail = []
    after = start
    while page := runtime.pipeline.events(after, 7):  # a consumer resuming in small pages
        tail += page
        after = page[-1]["sequence"]
    assert [event["id"] for event in tail] == [event["id"] for event in events[start:]]

    rebuilt = Semtwin.open(Settings(store=str(tmp_path / "rebuilt")))
    for seq, changeset in runtime.pipeline.journal(0, 10_000):
        assert changeset is not None, seq
        rebuilt.pipeline.commit(changeset)
    assert rebuilt.pipeline.journal_head() == writer.committed
    if runtime.store.capabilities.in_process:  # a remote store spells some literals its way
        assert _statements(rebuilt) == _statements(runtime)
    for twin_id in IDS:
        try:
            original = runtime.twins.get(twin_id)
        except SemtwinError:
            with pytest.raises(SemtwinError):
                rebuilt.twins.get(twin_id)
            continue
        again = rebuilt.twins.get(twin_id)
        assert again.etag == original.etag
        assert again.body["properties"] == original.body["properties"]
    runtime.close()
    rebuilt.close()
