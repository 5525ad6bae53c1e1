"""On an in-process store the stored journal head is a mark that lags the last event by up to
``MARK_EVERY`` events (most writes then only insert, ADR 0012 session 15): a pipeline
reopened after a hard stop, or a shared store's pipeline over the same data, numbers the
next event after the last one, never again one that exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph
from tests.conftest import OxigraphServer, free_port

from semtwin.rdf import NamedNode
from semtwin.runtime import Semtwin
from semtwin.services.pipeline import MARK_EVERY
from semtwin.settings import Settings
from semtwin.store import SelectResult

ST = "https://semtwin.dev/ns#"


def _stored_head(path: Path) -> int:
    store = pyoxigraph.Store.read_only(str(path))
    heads = [int(q.object.value) for q in store.quads_for_pattern(
        pyoxigraph.NamedNode("urn:semtwin:journal"), pyoxigraph.NamedNode(ST + "seq"), None,
        pyoxigraph.NamedNode("urn:semtwin:journal"))]
    assert len(heads) == 1, heads
    return heads[0]


def _write_then_die(path: Path, twins: int) -> int:
    """Write twins in another process that ends without closing the store (as kill -9
    does); the journal head it reached."""
    script = (
        "import os, sys\n"
        "from semtwin.runtime import Semtwin\n"
        "from semtwin.settings import Settings\n"
        f"rt = Semtwin.open(Settings(store={str(path)!r}))\n"
        f"for i in range({twins}):\n"
        "    rt.twins.put(f'd{i}', {'properties': {'https://ex.org/n': i}})\n"
        "print(rt.pipeline.journal_head(), flush=True)\n"
        "os._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def _sequences(runtime: Semtwin) -> list[int]:
    return [e["sequence"] for e in runtime.pipeline.events(0, 100_000)]


def test_the_stored_head_lags_until_a_mark_or_close(tmp_path: Path) -> None:
    path = tmp_path / "db"
    runtime = Semtwin.open(Settings(store=str(path)))
    start = runtime.pipeline.journal_head()
    for i in range(MARK_EVERY + 5):
        runtime.twins.put(f"t{i}", {"properties": {"https://ex.org/n": i}})
    head = runtime.pipeline.journal_head()
    assert head == start + MARK_EVERY + 5
    # while open, the stored head moved once, at the write that put it MARK_EVERY behind
    stored = [int(q.object.value) for q in runtime.store.quads(
        NamedNode("urn:semtwin:journal"), NamedNode(ST + "seq"), None,
        NamedNode("urn:semtwin:journal"))]
    assert stored == [start + MARK_EVERY]
    runtime.close()
    assert _stored_head(path) == head  # close leaves it at the last event

    again = Semtwin.open(Settings(store=str(path)))
    assert again.pipeline.journal_head() == head
    again.close()


def test_a_hard_stop_leaves_the_head_behind_and_a_reopen_finds_the_last_event(
        tmp_path: Path) -> None:
    path = tmp_path / "db"
    head = _write_then_die(path, 40)
    assert _stored_head(path) < head  # the mark lagged: only the events say how far it went

    runtime = Semtwin.open(Settings(store=str(path)))
    assert runtime.pipeline.journal_head() == head
    runtime.twins.put("after", {"properties": {"https://ex.org/n": 1}})
    sequences = _sequences(runtime)
    assert sequences == list(range(1, head + 2))  # numbered on, none twice
    assert runtime.pipeline.events(head, 10)[0]["subject"] == "urn:twin:after"
    runtime.close()


def test_a_shared_store_over_the_same_data_numbers_on_after_the_last_event(
        tmp_path: Path) -> None:
    path = tmp_path / "db"
    head = _write_then_die(path, 12)
    stored_before = _stored_head(path)
    assert stored_before < head
    server = OxigraphServer(path, free_port()).start()
    try:
        runtime = Semtwin.open(Settings(store=server.location))
        assert runtime.pipeline.journal_head() == head  # the events after the stored head
        stored = runtime.store.query(f"SELECT ?n WHERE {{ GRAPH <urn:semtwin:journal> {{ "
                                     f"<urn:semtwin:journal> <{ST}seq> ?n }} }}")
        assert isinstance(stored, SelectResult)
        assert [row[0].value for row in stored.rows if row[0]] == [str(stored_before)]
        runtime.twins.put("remote", {"properties": {"https://ex.org/n": 2}})
        sequences = _sequences(runtime)
        assert sequences == list(range(1, head + 2))
        assert runtime.pipeline.events(head, 10)[0]["subject"] == "urn:twin:remote"
        assert runtime.pipeline.journal_head() == head + 1
        runtime.close()
    finally:
        server.stop()


def test_reading_a_shared_store_s_journal_writes_nothing(tmp_path: Path) -> None:
    """A process that only reads (the change feed of a replica, which may hold a read-only
    credential) neither starts a journal nor moves a stored head."""
    server = OxigraphServer(tmp_path / "ox", free_port()).start()
    try:
        runtime = Semtwin.open(Settings(store=server.location))
        assert runtime.pipeline.journal_head() == 0
        assert runtime.pipeline.events(0, 10) == []
        assert runtime.store.count() == 0
        runtime.close()
    finally:
        server.stop()


def test_a_reader_probes_past_the_stored_head_once(tmp_path: Path) -> None:
    """Past the first read that finds the stored head at the last event, a read of a shared
    store's head is one look-up (a change feed polls it)."""
    server = OxigraphServer(tmp_path / "ox", free_port()).start()
    try:
        writer = Semtwin.open(Settings(store=server.location))
        writer.twins.put("w", {"properties": {"https://ex.org/n": 1}})
        reader = Semtwin.open(Settings(store=server.location))
        probes: list[int] = []
        probe = reader.pipeline._last_event

        def counted(head: int) -> int:
            probes.append(head)
            return probe(head)

        reader.pipeline._last_event = counted  # type: ignore[method-assign]
        assert [reader.pipeline.journal_head() for _ in range(3)] == [1, 1, 1]
        writer.twins.put("w", {"properties": {"https://ex.org/n": 2}})
        assert reader.pipeline.journal_head() == 2  # the writer moved the stored head
        assert probes == [1]
        writer.close()
        reader.close()
    finally:
        server.stop()
