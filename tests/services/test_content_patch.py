"""The JSON Patch an update event carries (``content_patch``): applied to the version
replaced, it gives the new version exactly, JSON types included."""

from __future__ import annotations

import random
from typing import Any

import jsonpatch
import orjson

from semtwin.services.twins import content_patch

NAMES = ["rdfs:label", "https://ex.org/a/b", "https://ex.org/t~x", "urn:x:n"]
VALUES: list[Any] = [1, 1.0, True, 0, -0.0, 0.0, "1", "", [1, 2], [2, 1], [1, 1.0],
                     {"@id": "urn:x:1"}, {"@value": "5.5", "@type": "xsd:decimal"},
                     {"@value": "5.50", "@type": "xsd:decimal"}]


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)  # members in any order


def _document(rng: random.Random) -> dict[str, Any]:
    document: dict[str, Any] = {
        "$types": rng.sample(["urn:c:A", "urn:c:B", "urn:c:C"], rng.randrange(4)),
        "properties": {name: rng.choice(VALUES)
                       for name in rng.sample(NAMES, rng.randrange(len(NAMES) + 1))}}
    if rng.random() < 0.5:  # a relationship's members
        document["$targetId"] = rng.choice(["t1", "t2"])
    return document


def test_the_patch_gives_the_new_version_exactly() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        old, new = _document(rng), _document(rng)
        patch = content_patch(old, new)
        assert _json(jsonpatch.apply_patch(old, patch)) == _json(new), (old, new)
        if _json(old) == _json(new):
            assert patch == []


def test_values_equal_in_python_but_not_in_json_are_changes() -> None:
    for before, after in [(1, 1.0), (1, True), (0.0, -0.0), ([1, 1.0], [1.0, 1])]:
        patch = content_patch({"properties": {"urn:x:p": before}},
                              {"properties": {"urn:x:p": after}})
        assert patch == [{"op": "replace", "path": "/properties/urn:x:p", "value": after}]
    assert content_patch({"properties": {"a/b~c": 1}}, {"properties": {}}) == [
        {"op": "remove", "path": "/properties/a~1b~0c"}]
