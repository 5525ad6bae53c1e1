"""A SPARQL Update that inserts what the store holds, or deletes what it does not, changes
nothing: no event, no new ETag, and the counts of an event say what changed. On every
backend (a remote store is asked which quads it holds by query, and may spell literals its
own way: a deletion must still find them)."""

from __future__ import annotations

from semtwin.runtime import Semtwin
from semtwin.settings import Settings
from semtwin.store import AskResult, UpdateDataset

EX = "https://ex.org/"
WHEN = '"2026-11-27T10:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>'


def test_an_update_that_changes_nothing_is_no_event(store_location: str) -> None:
    runtime = Semtwin.open(Settings(store=store_location))
    try:
        runtime.twins.put("p1", {"$types": [EX + "Pump"], "properties": {EX + "n": 1}})
        twin = "<urn:twin:p1>"

        def update(text: str) -> None:
            runtime.sparql.update(text, UpdateDataset())

        update(f"INSERT DATA {{ GRAPH {twin} {{ {twin} <{EX}at> {WHEN} }} }}")
        head, etag = runtime.pipeline.journal_head(), runtime.twins.get("p1").etag

        update(f"INSERT DATA {{ GRAPH {twin} {{ {twin} <{EX}n> 1 . {twin} <{EX}at> {WHEN} }} }}")
        update(f"DELETE DATA {{ GRAPH {twin} {{ {twin} <{EX}n> 2 }} }}")
        update(f"INSERT {{ GRAPH {twin} {{ {twin} a <{EX}Pump> }} }} "
               f"WHERE {{ GRAPH {twin} {{ {twin} <{EX}n> ?n }} }}")
        assert runtime.pipeline.journal_head() == head  # nothing changed: no event
        assert runtime.twins.get("p1").etag == etag

        # one new and one held, one absent and one held: the event counts what changed
        update(f"INSERT DATA {{ GRAPH {twin} {{ {twin} <{EX}n> 1 . {twin} <{EX}m> 5 }} }} ; "
               f"DELETE DATA {{ GRAPH {twin} {{ {twin} <{EX}n> 3 . {twin} <{EX}at> {WHEN} }} }}")
        assert runtime.pipeline.journal_head() == head + 1
        event = runtime.pipeline.events(head, 1)[0]
        assert (event["data"]["inserted"], event["data"]["deleted"]) == (1, 1)
        assert runtime.twins.get("p1").etag != etag
        properties = runtime.twins.get("p1").body["properties"]
        assert properties == {EX + "n": 1, EX + "m": 5}  # the time went, whatever its spelling

        # a graph the request clears first: what it inserts there is written again
        again = (f"CLEAR SILENT GRAPH <{EX}g> ; "
                 f"INSERT DATA {{ GRAPH <{EX}g> {{ <{EX}s> <{EX}p> 1 }} }}")
        update(again)
        head = runtime.pipeline.journal_head()
        update(again)
        assert runtime.pipeline.journal_head() == head + 1
        found = runtime.store.query(f"ASK {{ GRAPH <{EX}g> {{ <{EX}s> <{EX}p> 1 }} }}")
        assert isinstance(found, AskResult) and found.value
    finally:
        runtime.close()
