"""The twin index reads a class's twins when a listing first asks for that class, not every
twin and class of the store, and keeps what it has read current from the journal."""

from __future__ import annotations

from pathlib import Path

from tests.services.test_equality_listing import listed

from semtwin.runtime import Semtwin
from semtwin.settings import Settings
from semtwin.store import UpdateDataset

EX = "https://ex.org/"


def test_lists_are_read_when_asked_for_and_follow_writes(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    for name, kind in (("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B"), ("c1", "C")):
        runtime.twins.put(name, {"$types": [EX + kind]})
    runtime.relationships.put("a1", "r", {"$relationshipName": EX + "feeds",
                                          "$targetId": "b1"})
    assert listed(runtime, [], limit=2, type_iri=EX + "A") == ["a1", "a2"]
    index = runtime.navigation._index  # what was read is the point here
    assert set(index._lists) == {EX + "A"}

    runtime.twins.put("a3", {"$types": [EX + "A"]})
    runtime.twins.put("b2", {"$types": [EX + "A"]})  # a replace changes its class
    runtime.twins.delete("a2")
    runtime.sparql.update(  # another door: SPARQL Update into a twin's own graph
        f"INSERT DATA {{ GRAPH <urn:twin:c1> {{ <urn:twin:c1> a <{EX}A> }} }}",
        UpdateDataset())
    assert listed(runtime, [], limit=2, type_iri=EX + "A") == ["a1", "a3", "b2", "c1"]
    assert listed(runtime, [], limit=2, type_iri=EX + "B") == ["b1"]  # read after the writes
    # every twin, and no relationship
    assert listed(runtime, [], limit=2, type_iri=None) == ["a1", "a3", "b1", "b2", "c1"]
    runtime.twins.put("b3", {"$types": [EX + "B"]})
    runtime.twins.delete("c1")
    assert listed(runtime, [], limit=2, type_iri=EX + "B") == ["b1", "b3"]
    assert listed(runtime, [], limit=2, type_iri=None) == ["a1", "a3", "b1", "b2", "b3"]
    assert set(index._lists) == {EX + "A", EX + "B", None}
    runtime.close()
