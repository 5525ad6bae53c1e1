"""A Graph Store write that changes nothing (a POST of statements the graph holds, a PUT of
what the graph says already) is no event and gives no twin a new ETag, as with SPARQL
Update; on every backend."""

from __future__ import annotations

import pytest

from semtwin.errors import InvalidInput
from semtwin.rdf import DefaultGraph, NamedNode
from semtwin.runtime import Semtwin
from semtwin.services import held
from semtwin.settings import Settings
from semtwin.store import AskResult

EX = "https://ex.org/"
TURTLE = "text/turtle"


def test_graph_store_writes_that_change_nothing(store_location: str) -> None:
    runtime = Semtwin.open(Settings(store=store_location))
    try:
        runtime.twins.put("p1", {"$types": [EX + "Pump"], "properties": {EX + "n": 1}})
        graph = NamedNode("urn:twin:p1")
        held = f"<urn:twin:p1> <{EX}n> 1 ; a <{EX}Pump> .".encode()
        head, etag = runtime.pipeline.journal_head(), runtime.twins.get("p1").etag

        assert runtime.graphs.post(graph, held, TURTLE, None) is False
        assert runtime.graphs.put(graph, held, TURTLE, None) is False
        assert runtime.pipeline.journal_head() == head
        assert runtime.twins.get("p1").etag == etag

        # one held and one new statement: an event counting the new one
        runtime.graphs.post(graph, f"<urn:twin:p1> <{EX}n> 1 ; <{EX}m> 2 .".encode(),
                            TURTLE, None)
        assert runtime.pipeline.journal_head() == head + 1
        assert runtime.pipeline.events(head, 1)[0]["data"]["triples"] == 1
        assert runtime.twins.get("p1").etag != etag
        assert runtime.twins.get("p1").body["properties"] == {EX + "n": 1, EX + "m": 2}

        # a PUT of fewer statements than the graph holds is a change
        runtime.graphs.put(graph, held, TURTLE, None)
        assert runtime.pipeline.journal_head() == head + 2
        assert runtime.twins.get("p1").body["properties"] == {EX + "n": 1}

        # blank nodes are never taken as held: always written
        blank = b"_:b <https://ex.org/p> 1 ."
        runtime.graphs.post(NamedNode(EX + "g"), blank, TURTLE, None)
        head = runtime.pipeline.journal_head()
        runtime.graphs.post(NamedNode(EX + "g"), blank, TURTLE, None)
        assert runtime.pipeline.journal_head() == head + 1

        # semtwin's own graphs stay refused, even with statements they hold
        journal = NamedNode("urn:semtwin:journal")
        with pytest.raises(InvalidInput, match="reserved"):
            runtime.graphs.post(journal, b"<urn:semtwin:journal> "
                                b"<https://semtwin.dev/ns#seq> 0 .", TURTLE, None)
        # the default graph too (Virtuoso has none of its own: docs/operations.md)
        if store_location.startswith("virtuoso"):
            return
        runtime.graphs.post(DefaultGraph(), f"<{EX}s> <{EX}p> 1 .".encode(), TURTLE, None)
        head = runtime.pipeline.journal_head()
        runtime.graphs.post(DefaultGraph(), f"<{EX}s> <{EX}p> 1 .".encode(), TURTLE, None)
        assert runtime.pipeline.journal_head() == head
        found = runtime.store.query(f"ASK {{ <{EX}s> <{EX}p> 1 }}", union_default_graph=False)
        assert isinstance(found, AskResult) and found.value

    finally:
        runtime.close()


def test_large_remote_writes_are_not_looked_up(store_location: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Above ``REMOTE_CHECK_MAX`` quads a remote store's write is taken as it is (checking
    it would cost a query per 500 quads): a repeated POST is an event there; in process the
    check is a point look-up a quad, always made."""
    monkeypatch.setattr(held, "REMOTE_CHECK_MAX", 1)
    runtime = Semtwin.open(Settings(store=store_location))
    try:
        body = f"<{EX}s> <{EX}p> 1, 2 .".encode()
        runtime.graphs.post(NamedNode(EX + "big"), body, TURTLE, None)
        head = runtime.pipeline.journal_head()
        runtime.graphs.post(NamedNode(EX + "big"), body, TURTLE, None)
        in_process = runtime.store.capabilities.in_process
        assert runtime.pipeline.journal_head() == head + (0 if in_process else 1)
    finally:
        runtime.close()
