"""A journal event is one JSON record (session 14); journals written before, one statement a
field, are still read: the change feed, ``journal`` (replay) and idempotency keys work over
a journal that holds both."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph

from semtwin.runtime import Semtwin
from semtwin.settings import Settings

ST = "https://semtwin.dev/ns#"
TWIN_A = "urn:twin:a"
TIME = "2026-11-20T10:00:00.5Z"


def _legacy_journal(path: Path) -> None:
    """Twin ``a`` and two events as semtwin wrote them up to session 13: its creation, with
    its changes, and an entry from before changes were journaled."""
    add = (f'<{TWIN_A}> <http://www.w3.org/2000/01/rdf-schema#label> "A" <{TWIN_A}> .\n')
    changes = json.dumps({"remove": "", "add": add, "clear": [TWIN_A], "create": [],
                          "drop": [], "etag": "etag-a", "forget": [],
                          "times": {"rdfs:label": TIME}})
    data = json.dumps({"$id": "a", "$iri": TWIN_A,
                       "twin": {"properties": {"rdfs:label": "A"}}})
    stamp = f'"{TIME}"^^<http://www.w3.org/2001/XMLSchema#dateTime>'

    def event(seq: int, kind: str, extra: str) -> str:
        e = f"<urn:semtwin:event:{seq}>"
        return (f'{e} <{ST}id> "id-{seq}" . {e} <{ST}seq> {seq} . {e} <{ST}type> "{kind}" . '
                f"{e} <{ST}subject> <{TWIN_A}> . {e} <{ST}time> {stamp} . "
                f"{e} <{ST}data> {json.dumps(data)} . {extra}")

    store = pyoxigraph.Store(str(path))
    store.update(
        f"INSERT DATA {{ GRAPH <urn:semtwin:journal> {{ <urn:semtwin:journal> <{ST}seq> 2 . "
        + event(1, "twin.created", f'<urn:semtwin:event:1> <{ST}changes> {json.dumps(changes)}'
                f' . <urn:semtwin:event:1> <{ST}request> "req-1" . '
                f'<urn:semtwin:event:1> <{ST}idempotencyKey> "PUT /a k1" . ')
        + event(2, "twin.updated", f'<urn:semtwin:event:2> <{ST}actor> "ops"')
        + f" }} GRAPH <urn:semtwin:meta> {{ <{TWIN_A}> <{ST}etag> \"etag-a\" ; "
        f"<{ST}updated> {stamp} }} GRAPH <{TWIN_A}> {{ <{TWIN_A}> "
        "<http://www.w3.org/2000/01/rdf-schema#label> \"A\" } }")
    store.flush()
    del store


def test_a_journal_of_both_formats_feeds_events_replay_and_idempotency(tmp_path: Path) -> None:
    _legacy_journal(tmp_path / "db")
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    assert runtime.pipeline.journal_head() == 2
    document, created = runtime.twins.put("b", {"properties": {"rdfs:label": "B"}},
                                          actor="app", request_id="req-3")
    assert created

    events = runtime.pipeline.events(0, 10)
    assert [e["sequence"] for e in events] == [1, 2, 3]
    first, second, third = events
    assert (first["id"], first["type"], first["subject"], first["time"]) == (
        "id-1", "dev.semtwin.twin.created", TWIN_A, TIME)
    assert first["data"]["twin"]["properties"] == {"rdfs:label": "A"}
    assert first["requestid"] == "req-1" and "actor" not in first
    assert second["actor"] == "ops" and second["type"] == "dev.semtwin.twin.updated"
    assert third["type"] == "dev.semtwin.twin.created"
    assert third["subject"] == runtime.twins.iri("b").value
    assert (third["actor"], third["requestid"]) == ("app", "req-3")
    assert third["data"]["twin"]["properties"] == {"rdfs:label": "B"}
    assert runtime.pipeline.events(1, 1) == [second]  # a page of legacy entries alone

    # an idempotency key journaled the old way is still found
    assert runtime.pipeline.replay("PUT /a k1") == {
        "status": 200, "headers": {}, "pending": True,
        "body": {"replayed": True, "sequence": 1}}

    # the journal redoes both formats into an empty store (what ``semtwin replay`` does)
    entries = runtime.pipeline.journal(0, 10)
    assert [(seq, changeset is None) for seq, changeset in entries] == [
        (1, False), (2, True), (3, False)]
    target = Semtwin.open(Settings(store=str(tmp_path / "copy")))
    for _, changeset in entries:
        if changeset is not None:
            target.pipeline.commit(changeset)
    assert target.twins.get("a").body["properties"] == {"rdfs:label": "A"}
    assert target.twins.get("a").etag == "etag-a"
    rebuilt = target.twins.get("b")
    assert rebuilt.body["properties"] == {"rdfs:label": "B"} and rebuilt.etag == document.etag
    target.close()
    runtime.close()


def test_an_event_is_its_sequence_number_and_one_record(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.twins.put("c", {"properties": {"rdfs:label": "C"}}, idempotency_key="PUT /c k")
    head = runtime.pipeline.journal_head()
    event = pyoxigraph.NamedNode(f"urn:semtwin:event:{head}")
    stored = {q.predicate.value.removeprefix(ST): q.object.value
              for q in runtime.store.quads(event, None, None, None)}
    assert set(stored) == {"seq", "record", "idempotencyKey"}
    record = json.loads(stored["record"])
    assert record["type"] == "twin.created" and record["changes"]["etag"] == (
        runtime.twins.get("c").etag)
    runtime.close()
