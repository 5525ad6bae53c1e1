"""Neighbours and paths against a model: random twins and relationships (created, retargeted,
renamed, deleted, and taken along by cascade deletes), and every neighbourhood and shortest
path compared with a breadth-first walk of the model's graph in Python."""

from __future__ import annotations

import random
from collections import deque
from itertools import product
from pathlib import Path

import pytest

from semtwin.runtime import Semtwin
from semtwin.settings import Settings

EX = "https://ex.org/"
NAMES = [EX + "feeds", EX + "contains"]
KINDS = [EX + "Pump", EX + "Fan"]
Edge = tuple[str, str, str, str]  # (source, relationship id, name, target)


class Model:
    def __init__(self, runtime: Semtwin, rng: random.Random) -> None:
        self.runtime = runtime
        self.rng = rng
        self.kinds: dict[str, str] = {}
        self.edges: dict[tuple[str, str], tuple[str, str]] = {}  # (source, id): (name, target)

    def edge_list(self) -> list[Edge]:
        return [(s, r, n, t) for (s, r), (n, t) in self.edges.items()]

    def write(self) -> None:
        rng, rt = self.rng, self.runtime
        twins = sorted(self.kinds)
        step = rng.randrange(10)
        if step < 3 or len(twins) < 3:
            twin_id = f"n{rng.randrange(14)}"
            kind = rng.choice(KINDS)
            rt.twins.put(twin_id, {"$types": [kind]})
            self.kinds[twin_id] = kind
        elif step < 7:
            source, target = rng.choice(twins), rng.choice(twins)
            rel_id, name = rng.choice(["r1", "r2", "r3"]), rng.choice(NAMES)
            rt.relationships.put(source, rel_id, {"$relationshipName": name,
                                                  "$targetId": target})
            self.edges[(source, rel_id)] = (name, target)
        elif step < 8 and self.edges:
            (source, rel_id), (name, _) = rng.choice(sorted(self.edges.items()))
            target = rng.choice(twins)  # a relationship's target may change
            rt.relationships.patch(source, rel_id, "merge", {"$targetId": target})
            self.edges[(source, rel_id)] = (name, target)
        elif step < 9 and self.edges:
            source, rel_id = rng.choice(sorted(self.edges))
            rt.relationships.delete(source, rel_id)
            del self.edges[(source, rel_id)]
        else:
            twin_id = rng.choice(twins)

            def relationships() -> list:
                return rt.relationships.relationship_graphs(rt.twins.iri(twin_id),
                                                            direction="both")
            rt.twins.delete(twin_id, cascade=relationships)
            del self.kinds[twin_id]
            self.edges = {key: (name, target) for key, (name, target) in self.edges.items()
                          if twin_id not in (key[0], target)}

    def neighbors(self, start: str, depth: int, direction: str, name: str | None,
                  kind: str | None) -> tuple[dict[str, int], set[Edge]]:
        """Twins within ``depth`` hops (with their depth) and the relationships walked."""
        seen, walked = {start: 0}, set()
        frontier = {start}
        for level in range(1, depth + 1):
            following = set()
            for edge in self.edge_list():
                source, _, edge_name, target = edge
                if name is not None and edge_name != name:
                    continue
                for near, far, way in ((source, target, "out"), (target, source, "in")):
                    if near in frontier and direction in (way, "both"):
                        walked.add(edge)
                        if far not in seen:
                            seen[far] = level
                            following.add(far)
            frontier = following
        del seen[start]
        return ({t: d for t, d in seen.items() if kind is None or self.kinds[t] == kind},
                walked)

    def shortest_paths(self, start: str, goal: str, max_depth: int) -> list[list[Edge]]:
        if start == goal:
            return [[]]
        queue: deque[list[Edge]] = deque([[]])
        found: list[list[Edge]] = []
        while queue:
            path = queue.popleft()
            if (found and len(path) >= len(found[0])) or len(path) >= max_depth:
                continue
            at = path[-1][3] if path else start
            visited = {start, *(edge[3] for edge in path)}
            for edge in self.edge_list():
                if edge[0] == at and edge[3] not in visited:
                    if edge[3] == goal:
                        found.append([*path, edge])
                    else:
                        queue.append([*path, edge])
        shortest = min((len(p) for p in found), default=0)
        return [p for p in found if len(p) == shortest]


def _edge(hop: dict[str, str]) -> Edge:
    return (hop["from"], hop["relationshipId"], EX + hop["name"].removeprefix(EX), hop["to"])


@pytest.mark.parametrize("seed", range(3))
def test_neighbors_and_paths_agree_with_the_model(tmp_path: Path, seed: int) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    model = Model(runtime, random.Random(seed))
    nav = runtime.navigation
    for round_ in range(25):
        for _ in range(8):
            model.write()
        twins = sorted(model.kinds)
        asks = list(product(twins, [1, 2, 3], ["out", "in", "both"], [None, *NAMES],
                            [None, *KINDS]))
        for start, depth, direction, name, kind in random.Random(round_).sample(
                asks, min(12, len(asks))):
            answer = nav.neighbors(start, depth=depth, direction=direction,
                                   relationship=name, type_iri=kind)
            expected, walked = model.neighbors(start, depth, direction, name, kind)
            assert {t["twin"]["$id"]: t["depth"] for t in answer["twins"]} == expected
            assert {_edge(e) for e in answer["relationships"]} == walked
            assert len(answer["relationships"]) == len(walked)  # each once
        pairs = list(product(twins, twins))
        for start, goal in random.Random(round_).sample(pairs, min(10, len(pairs))):
            depth = random.Random(start + goal).choice([1, 2, 4])
            paths = nav.paths(start, goal, max_depth=depth)
            expected_paths = model.shortest_paths(start, goal, depth)
            assert sorted(map(str, ([_edge(h) for h in p] for p in paths))) == sorted(
                map(str, expected_paths)), (start, goal, depth)
    runtime.close()
