"""Batches against a model: random batches of twin and relationship operations, applied by
the model one after another; a batch is written whole when every operation holds against
what the ones before it leave, and refused whole (nothing written, no event) otherwise. A
relationship must never be left pointing at a twin that is not there."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from semtwin.errors import SemtwinError
from semtwin.runtime import Semtwin
from semtwin.settings import Settings

EX = "https://ex.org/"
TWINS = [f"b{n}" for n in range(3)]
RELS = ["r1", "r2"]


class Refused(Exception):
    pass


def _simulate(twins: set[str], rels: dict[tuple[str, str], str],
              operations: list[dict[str, Any]]) -> tuple[set[str], dict[tuple[str, str], str]]:
    """The state after the batch, or Refused."""
    twins, rels = set(twins), dict(rels)
    before_twins, before_rels = set(twins), dict(rels)
    touched: set[str] = set()
    written_links: set[str] = set()  # twins a relationship written in this batch links
    deleted: set[tuple[str, str]] = set()  # relationships deleted in this batch
    moved: set[tuple[str, str]] = set()  # relationships written in this batch
    for op in operations:
        kind, twin = op["op"], op["id"]
        subject = twin if kind in ("put", "patch", "delete") else f"{twin}/{op['relationshipId']}"
        if subject in touched:
            raise Refused("changed twice")
        touched.add(subject)
        if kind == "put":
            twins.add(twin)
        elif kind == "patch":
            if twin not in before_twins:
                raise Refused("no twin")
        elif kind == "delete":
            if twin not in before_twins or twin in written_links:
                raise Refused("no twin, or linked in this batch")
            # its relationships as stored before the batch, less those deleted or moved
            # away from it before it
            links = [key for key, target in before_rels.items()
                     if twin in (key[0], target) and key not in deleted and not (
                         key in moved and twin not in (key[0], rels.get(key)))]
            if links and not op.get("cascade"):
                raise Refused("relationships")
            for key in links:  # each taken along counts as changed
                if f"{key[0]}/{key[1]}" in touched:
                    raise Refused("changed twice")
                touched.add(f"{key[0]}/{key[1]}")
                rels.pop(key, None)
                deleted.add(key)
            twins.discard(twin)
        elif kind == "putRelationship":
            target = op["relationship"]["$targetId"]
            if twin not in twins or target not in twins:
                raise Refused("source or target missing")
            rels[(twin, op["relationshipId"])] = target
            moved.add((twin, op["relationshipId"]))
            written_links.update((twin, target))
        else:
            key = (twin, op["relationshipId"])
            if key not in before_rels:
                raise Refused("no relationship")
            del rels[key]
            deleted.add(key)
    return twins, rels


def _random_operation(rng: random.Random) -> dict[str, Any]:
    twin, other, rel = rng.choice(TWINS), rng.choice(TWINS), rng.choice(RELS)
    kind = rng.choice(["put", "put", "patch", "delete", "delete", "putRelationship",
                       "putRelationship", "deleteRelationship"])
    if kind == "put":
        return {"op": "put", "id": twin, "twin": {"properties": {EX + "n": rng.randrange(9)}}}
    if kind == "patch":
        return {"op": "patch", "id": twin, "mergePatch": {"properties": {EX + "m": 1}}}
    if kind == "delete":
        return {"op": "delete", "id": twin, "cascade": rng.random() < 0.5}
    if kind == "putRelationship":
        return {"op": "putRelationship", "id": twin, "relationshipId": rel,
                "relationship": {"$relationshipName": EX + "feeds", "$targetId": other}}
    return {"op": "deleteRelationship", "id": twin, "relationshipId": rel}


def _state(runtime: Semtwin) -> tuple[set[str], dict[tuple[str, str], str]]:
    twins = set()
    rels = {}
    for twin in TWINS:
        try:
            runtime.twins.get(twin)
        except SemtwinError:
            continue
        twins.add(twin)
        for rel in runtime.relationships.list(twin, direction="out"):
            rels[(twin, rel["$relationshipId"])] = rel["$targetId"]
    return twins, rels


@pytest.mark.parametrize("seed", range(4))
def test_batches_agree_with_the_model(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    twins: set[str] = set()
    rels: dict[tuple[str, str], str] = {}
    written = refused = 0
    for _ in range(250):
        operations = [_random_operation(rng) for _ in range(rng.choice([1, 2, 3, 4]))]
        head = runtime.pipeline.journal_head()
        try:
            expected: tuple[set[str], dict[tuple[str, str], str]] | None = _simulate(
                twins, rels, operations)
        except Refused:
            expected = None
        try:
            runtime.batch.apply({"operations": operations})
        except SemtwinError:
            assert expected is None, operations
            assert runtime.pipeline.journal_head() == head
            refused += 1
            continue
        assert expected is not None, operations
        twins, rels = expected
        assert _state(runtime) == expected, repr(operations)
        assert runtime.pipeline.journal_head() > head
        written += 1
        for (_source, _rel), target in rels.items():  # nothing dangles
            assert target in twins
    assert written > 20 and refused > 20  # both were exercised
    runtime.close()


def test_operations_see_what_earlier_ones_leave(tmp_path: Path) -> None:
    """Each was written before: a relationship to a twin an earlier operation deleted (left
    dangling), a twin deleted after a relationship to it was written (left dangling), and a
    relationship deleted twice, by a cascade and by its own operation (two events)."""
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    for twin in ("b0", "b1", "b2"):
        runtime.twins.put(twin, {})
    runtime.relationships.put("b0", "r", {"$relationshipName": EX + "feeds", "$targetId": "b1"})
    feeds = {"$relationshipName": EX + "feeds", "$targetId": "b2"}
    for operations in (
            [{"op": "delete", "id": "b2"},
             {"op": "putRelationship", "id": "b0", "relationshipId": "s", "relationship": feeds}],
            [{"op": "putRelationship", "id": "b0", "relationshipId": "s", "relationship": feeds},
             {"op": "delete", "id": "b2"}],
            [{"op": "delete", "id": "b1", "cascade": True},
             {"op": "deleteRelationship", "id": "b0", "relationshipId": "r"}]):
        head = runtime.pipeline.journal_head()
        with pytest.raises(SemtwinError):
            runtime.batch.apply({"operations": operations})
        assert runtime.pipeline.journal_head() == head
    assert _state(runtime) == ({"b0", "b1", "b2"}, {("b0", "r"): "b1"})
    # a relationship moved away from a twin no longer links it: the twin goes, the
    # relationship stays, with its new target
    runtime.batch.apply({"operations": [
        {"op": "putRelationship", "id": "b0", "relationshipId": "r", "relationship": feeds},
        {"op": "delete", "id": "b1", "cascade": True}]})
    assert _state(runtime) == ({"b0", "b2"}, {("b0", "r"): "b2"})
    runtime.close()
