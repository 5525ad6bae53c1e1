"""On an in-process store a replace removes the twin's old statements as data and writes only
what changes (ADR 0012, session 15): the twin's graph must hold exactly the new statements
whatever the old ones were, values the store spells its own way and blank nodes included."""

from __future__ import annotations

from pathlib import Path

from semtwin.rdf import NamedNode
from semtwin.runtime import Semtwin
from semtwin.settings import Settings
from semtwin.store import UpdateDataset

EX = "https://ex.org/"


def _graph(runtime: Semtwin, twin: str) -> set[tuple[str, str]]:
    iri = NamedNode(f"urn:twin:{twin}")
    return {(q.predicate.value, str(q.object)) for q in runtime.store.quads(None, None, None, iri)}


def test_a_patch_changes_only_what_it_names(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.twins.put("a", {"$types": [EX + "Pump"],
                            "properties": {EX + "n": 1, EX + "tag": ["x", "y"], EX + "s": "on"}})
    runtime.twins.patch("a", "merge", {"properties": {EX + "tag": ["y", "z"], EX + "s": None}})
    assert _graph(runtime, "a") == {
        ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", f"<{EX}Pump>"),
        (EX + "n", '"1"^^<http://www.w3.org/2001/XMLSchema#integer>'),
        (EX + "tag", '"y"'), (EX + "tag", '"z"')}
    assert runtime.twins.get("a").body["properties"][EX + "tag"] == ["y", "z"]
    runtime.close()


def test_a_replace_with_the_same_statements_keeps_one_of_each(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    body = {"properties": {EX + "n": {"@value": "007", "@type":
                                      "http://www.w3.org/2001/XMLSchema#integer"},
                           EX + "label": "L"}}
    first, _ = runtime.twins.put("b", body)
    second, created = runtime.twins.put("b", body)
    assert not created and second.etag != first.etag
    statements = _graph(runtime, "b")
    assert len([s for s in statements if s[0] == EX + "n"]) == 1
    assert len(statements) == 2
    runtime.close()


def test_a_replace_removes_blank_nodes_written_by_sparql(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.twins.put("c", {"properties": {EX + "n": 1}})
    runtime.sparql.update(
        f"INSERT DATA {{ GRAPH <urn:twin:c> {{ <urn:twin:c> <{EX}part> _:p . "
        f"_:p <{EX}n> 2 }} }}", UpdateDataset())
    assert len(_graph(runtime, "c")) == 3
    runtime.twins.put("c", {"properties": {EX + "n": 1}})
    assert _graph(runtime, "c") == {
        (EX + "n", '"1"^^<http://www.w3.org/2001/XMLSchema#integer>')}
    runtime.close()


def test_content_read_when_planning_is_used_only_under_the_same_etag(tmp_path: Path) -> None:
    """A replace planned on a version read from the store carries that version's graph
    (``known_content``); the commit uses it only while the twin's ETag is still the one it
    was read under. Here the twin's graph changes between the planning and the commit (a
    SPARQL update: new ETag) and the changeset is committed unconditionally: the statement
    the update added must still go."""
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.twins.put("d", {"properties": {EX + "n": 1}})
    iri = NamedNode("urn:twin:d")
    before = runtime.twins.get("d")
    planned = runtime.twins.plan_put("d", iri, runtime.twins.to_quads(
        "d", iri, {"properties": {EX + "n": 2}}), before, if_match=None, if_none_match=False)
    assert planned.changeset.known_content is not None
    runtime.sparql.update(f"INSERT DATA {{ GRAPH <urn:twin:d> {{ <urn:twin:d> <{EX}m> 3 }} }}",
                          UpdateDataset())
    assert runtime.twins.get("d").etag != before.etag
    planned.changeset.rebase = None
    planned.changeset.precondition = None
    runtime.pipeline.commit(planned.changeset)
    assert _graph(runtime, "d") == {
        (EX + "n", '"2"^^<http://www.w3.org/2001/XMLSchema#integer>')}
    runtime.close()


def test_the_journal_records_what_a_patch_changed(tmp_path: Path) -> None:
    """The event of a patch of one property of a twin with many records that property's
    statements alone (not the twin's every statement), and replays to the same twin."""
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.twins.put("big", {"$types": [EX + "Pump"],
                              "properties": {f"{EX}p{i}": i for i in range(200)}})
    runtime.twins.patch("big", "merge", {"properties": {EX + "p7": 70}})
    (_, create), (_, patch) = runtime.pipeline.journal(0, 10)
    assert patch is not None and create is not None
    assert [(q.predicate.value, q.object.value) for q in patch.remove] == [(EX + "p7", "7")]
    assert [(q.predicate.value, q.object.value) for q in patch.add] == [(EX + "p7", "70")]
    assert patch.clear_graphs == []
    rebuilt = Semtwin.open(Settings(store=str(tmp_path / "rebuilt")))
    for changeset in (create, patch):
        rebuilt.pipeline.commit(changeset)
    assert _graph(rebuilt, "big") == _graph(runtime, "big")
    assert rebuilt.twins.get("big").etag == runtime.twins.get("big").etag
    runtime.close()
    rebuilt.close()
