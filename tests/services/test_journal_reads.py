"""Reading the journal by position on the real store: each poll looks its entries up by
their IRIs (``urn:semtwin:event:n``), whatever the journal's length; a journal whose entries
are not where expected is still read in full, by a scan."""

from __future__ import annotations

from pathlib import Path

from semtwin.runtime import Semtwin
from semtwin.settings import Settings


def _runtime(tmp_path: Path) -> Semtwin:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.models.ensure_core()
    return runtime


def test_polls_from_any_position_return_the_next_entries(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    try:
        start = runtime.pipeline.journal_head()
        for i in range(120):
            runtime.twins.put(f"j{i}", {"properties": {"rdfs:label": f"twin {i}"}})
        head = runtime.pipeline.journal_head()
        assert head == start + 120
        events = runtime.pipeline.events(start, 1000)
        assert [e["sequence"] for e in events] == list(range(start + 1, head + 1))
        assert [e["subject"] for e in events] == [f"urn:twin:j{i}" for i in range(120)]
        middle = runtime.pipeline.events(start + 50, 7)
        assert [e["sequence"] for e in middle] == list(range(start + 51, start + 58))
        assert middle[0]["data"]["twin"]["properties"]["rdfs:label"] == "twin 50"
        assert runtime.pipeline.events(head - 2, 100)[-1]["sequence"] == head
        assert runtime.pipeline.events(head, 100) == []
        assert runtime.pipeline.events(head + 10, 100) == []
        redo = runtime.pipeline.journal(start + 118, 10)
        assert [seq for seq, _ in redo] == [head - 1, head]
        assert all(changeset is not None and changeset.add for _, changeset in redo)
    finally:
        runtime.close()


def test_entries_not_at_their_iris_are_found_by_a_scan(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    try:
        start = runtime.pipeline.journal_head()
        for i in range(5):
            runtime.twins.put(f"k{i}", {})
        moved = f"urn:semtwin:event:{start + 3}"
        # an entry under another IRI (a journal written otherwise), moved with the raw store
        runtime.store.update(
            f"DELETE {{ GRAPH <urn:semtwin:journal> {{ <{moved}> ?p ?o }} }} "
            f"INSERT {{ GRAPH <urn:semtwin:journal> {{ <urn:other:entry> ?p ?o }} }} "
            f"WHERE {{ GRAPH <urn:semtwin:journal> {{ <{moved}> ?p ?o }} }}")
        events = runtime.pipeline.events(start, 10)
        assert [e["sequence"] for e in events] == list(range(start + 1, start + 6))
        assert events[2]["subject"] == "urn:twin:k2"
    finally:
        runtime.close()
