"""Neighbourhoods and shortest paths are bounded: past the limit the answer is a 422 that
says what to narrow, not a worker busy for minutes (on the real store, in process, with the
limits lowered so that a small graph reaches them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from semtwin.errors import UnprocessableContent
from semtwin.runtime import Semtwin
from semtwin.services import navigation
from semtwin.settings import Settings


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Semtwin]:
    opened = Semtwin.open(Settings(store=str(tmp_path / "db")))
    opened.models.ensure_core()
    yield opened
    opened.close()


def _link(runtime: Semtwin, source: str, target: str) -> None:
    runtime.relationships.put(source, f"to-{target}", {"$relationshipName": "brick:feeds",
                                                       "$targetId": target})


def test_a_neighbourhood_past_the_limit_is_refused(runtime: Semtwin,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for twin in ["hub", *(f"leaf-{i}" for i in range(6))]:
        runtime.twins.put(twin, {"properties": {}})
    for i in range(6):
        _link(runtime, "hub", f"leaf-{i}")
    monkeypatch.setattr(navigation, "MAX_NEIGHBORS", 6)
    answer = runtime.navigation.neighbors("hub", depth=1, direction="out", relationship=None,
                                          type_iri=None)
    assert len(answer["twins"]) == 6
    monkeypatch.setattr(navigation, "MAX_NEIGHBORS", 5)
    with pytest.raises(UnprocessableContent, match="more than 5 twins within 1 hops"):
        runtime.navigation.neighbors("hub", depth=1, direction="out", relationship=None,
                                     type_iri=None)


def test_more_shortest_paths_than_the_limit_are_refused(runtime: Semtwin,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # two layers of two twins between a and z: 2 x 2 = 4 shortest paths of 3 hops
    for twin in ("a", "b1", "b2", "c1", "c2", "z"):
        runtime.twins.put(twin, {"properties": {}})
    for source, target in (("a", "b1"), ("a", "b2"), ("b1", "c1"), ("b1", "c2"),
                           ("b2", "c1"), ("b2", "c2"), ("c1", "z"), ("c2", "z")):
        _link(runtime, source, target)
    paths = runtime.navigation.paths("a", "z", max_depth=5)
    assert len(paths) == 4 and all(len(path) == 3 for path in paths)
    monkeypatch.setattr(navigation, "MAX_PATHS", 3)
    with pytest.raises(UnprocessableContent, match="more than 3 shortest paths"):
        runtime.navigation.paths("a", "z", max_depth=5)
