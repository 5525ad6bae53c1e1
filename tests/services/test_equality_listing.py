"""A listing with an equality filter starts from the twins the filter holds for, kept between
pages and brought up to date from the journal (``services/holders.py``), narrowed to the type
by the twin index: its answers must follow every write, through any door, and it must not
walk the twins of the type that the filter leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from semtwin.runtime import Semtwin
from semtwin.services import holders, navigation
from semtwin.settings import Settings
from semtwin.store import UpdateDataset

EX = "https://ex.org/"
KIND = EX + "Pump"


def listed(runtime: Semtwin, where: list[str], limit: int = 3,
           type_iri: str | None = KIND) -> list[str]:
    """The ids of every twin the listing gives, page after page."""
    seen: list[str] = []
    cursor = None
    while True:
        page = runtime.navigation.list_twins(type_iri=type_iri, q=None, limit=limit,
                                             cursor=cursor, where=where)
        seen += [twin["$id"] for twin in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def _record_queries(runtime: Semtwin, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every query the store is sent from now on."""
    queries: list[str] = []
    store_query = runtime.store.query

    def counted(text: str, *args: object, **kwargs: object) -> object:
        queries.append(text)
        return store_query(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime.store, "query", counted)
    return queries


@pytest.mark.parametrize(("few", "most"), [(2000, 50_000), (2, 50_000), (2, 2)],
                         ids=["few-holders", "through-the-index", "too-many-holders"])
def test_equality_listing_follows_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         few: int, most: int) -> None:
    # few=2: every set of holders counts as many, so candidates go through the twin index;
    # most=2: every set is too large to read, so the page walks the type
    monkeypatch.setattr(navigation, "_FEW", few)
    monkeypatch.setattr(navigation, "_EQUAL_HOLDERS", most)
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    for i in range(6):
        runtime.twins.put(f"m{i}", {"$types": [KIND], "properties": {EX + "zone": 7}})
    runtime.twins.put("other-kind", {"$types": [EX + "Fan"], "properties": {EX + "zone": 7}})
    runtime.twins.put("a-none", {"$types": [KIND], "properties": {EX + "zone": 8}})
    seven = [f"{EX}zone eq 7"]
    assert listed(runtime, seven) == [f"m{i}" for i in range(6)]

    runtime.twins.patch("a-none", "merge", {"properties": {EX + "zone": 7}})  # now holds
    runtime.twins.patch("m1", "merge", {"properties": {EX + "zone": 9}})  # no longer
    runtime.twins.delete("m2")
    runtime.twins.put("m9", {"$types": [KIND], "properties": {EX + "zone": 7.0}})
    runtime.sparql.update(  # another door: SPARQL Update into a twin's own graph
        f"DELETE DATA {{ GRAPH <urn:twin:m3> {{ <urn:twin:m3> <{EX}zone> 7 }} }} ; "
        f"INSERT DATA {{ GRAPH <urn:twin:m3> {{ <urn:twin:m3> <{EX}zone> 10 }} }}",
        UpdateDataset())
    runtime.sparql.update(
        f"INSERT DATA {{ GRAPH <urn:twin:other-kind> {{ <urn:twin:other-kind> a <{KIND}> }} }}",
        UpdateDataset())
    assert listed(runtime, seven) == ["a-none", "m0", "m4", "m5", "m9", "other-kind"]
    assert listed(runtime, [*seven, f"{EX}zone exists"], limit=2) == [
        "a-none", "m0", "m4", "m5", "m9", "other-kind"]
    assert listed(runtime, [f"{EX}zone eq 9"]) == ["m1"]
    runtime.close()


def test_equality_listing_does_not_walk_the_type(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Many twins of the type without the value, sorting before the few that have it: the
    page costs a few queries, not a check of every twin of the type."""
    monkeypatch.setattr(navigation, "_FEW", 2)
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    for start in range(0, 3000, 1000):
        runtime.batch.apply({"operations": [{"op": "put", "id": f"a{i:04d}", "twin": {
            "$types": [KIND], "properties": {EX + "zone": 1}}}
            for i in range(start, start + 1000)]})
    for i in range(4):
        runtime.twins.put(f"z{i}", {"$types": [KIND], "properties": {EX + "zone": 2}})
    runtime.navigation.list_twins(type_iri=KIND, q=None, limit=1, cursor=None)  # the index
    queries = _record_queries(runtime, monkeypatch)
    page = runtime.navigation.list_twins(type_iri=KIND, q=None, limit=10, cursor=None,
                                         where=[f"{EX}zone eq 2"])
    assert [twin["$id"] for twin in page.items] == ["z0", "z1", "z2", "z3"]
    assert len(queries) <= 4, queries
    assert all("a0001" not in text for text in queries)
    runtime.close()


def test_kept_holders_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Holders are kept up to a total (the newest lookup's always); a lookup let go is read
    again, with the same answer."""
    monkeypatch.setattr(holders, "KEPT_HOLDERS", 5)
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    for i in range(12):
        runtime.twins.put(f"p{i:02d}", {"$types": [KIND], "properties": {EX + "zone": i % 3}})
    for _ in range(2):
        for zone in range(3):
            assert listed(runtime, [f"{EX}zone eq {zone}"]) == [
                f"p{i:02d}" for i in range(12) if i % 3 == zone]
            kept = runtime.navigation._holders._kept  # what is kept is the point here
            assert len(kept) == 1 and sum(len(h or ()) for _, h in kept.values()) == 4
    runtime.close()


def test_events_since_a_listing_are_read_once(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The twin index and the kept holders both catch up after writes: from one read of the
    events (``TwinIndex.touched_after``), not one each."""
    monkeypatch.setattr(navigation, "_FEW", 2)  # holders narrowed by the index
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    for i in range(5):
        runtime.twins.put(f"k{i}", {"$types": [KIND], "properties": {EX + "zone": 4}})
    where = [f"{EX}zone eq 4"]
    assert listed(runtime, where, limit=10) == [f"k{i}" for i in range(5)]
    runtime.twins.patch("k1", "merge", {"properties": {EX + "zone": 5}})
    runtime.twins.put("k9", {"$types": [KIND], "properties": {EX + "zone": 4}})
    reads: list[tuple[int, int]] = []
    touched_since = runtime.pipeline.touched_since

    def counted(after: int, head: int) -> set[str]:
        reads.append((after, head))
        return touched_since(after, head)

    monkeypatch.setattr(runtime.pipeline, "touched_since", counted)
    assert listed(runtime, where, limit=10) == ["k0", "k2", "k3", "k4", "k9"]
    assert len(reads) == 1, reads
    runtime.close()


def test_too_many_holders_are_not_read_again_after_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter holding for too many twins walks the type; writes since its pages do not
    make it read the lookup again for the next page (it reads again once the touched IRIs
    are no longer known)."""
    monkeypatch.setattr(navigation, "_EQUAL_HOLDERS", 3)
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    for i in range(6):
        runtime.twins.put(f"n{i}", {"$types": [KIND], "properties": {EX + "zone": 6}})
    where = [f"{EX}zone eq 6"]
    assert listed(runtime, where) == [f"n{i}" for i in range(6)]
    runtime.twins.patch("n2", "merge", {"properties": {EX + "zone": 1}})
    queries = _record_queries(runtime, monkeypatch)
    assert listed(runtime, where) == ["n0", "n1", "n3", "n4", "n5"]
    assert not [text for text in queries if "LIMIT 4" in text], queries  # the lookup's
    runtime.close()
