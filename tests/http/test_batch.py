"""``POST /api/v1/batch`` on every backend: many operations, one transaction — everything or
nothing, each operation with its own event, in order."""

from __future__ import annotations

import uuid

import httpx
import pytest
from tests.conftest import ServerProcess


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


def _head(server: ServerProcess) -> int:
    return int(httpx.get(f"{server.url}/api/v1/events",
                         params={"after": 0, "limit": 1000}).json()["last"])


def test_a_batch_creates_twins_and_relationships_together(server: ServerProcess,
                                                          tag: str) -> None:
    before = _head(server)
    response = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "put", "id": f"ahu-{tag}", "twin": {"$types": ["brick:Air_Handling_Unit"]}},
        {"op": "put", "id": f"vav-{tag}", "twin": {"$types": ["brick:VAV"],
                                                   "properties": {"rdfs:label": "VAV"}}},
        {"op": "putRelationship", "id": f"ahu-{tag}", "relationshipId": "feeds-1",
         "relationship": {"$relationshipName": "brick:feeds", "$targetId": f"vav-{tag}"}},
    ]})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201]
    assert [r["sequence"] for r in results] == [before + 1, before + 2, before + 3]
    events = httpx.get(f"{server.url}/api/v1/events", params={"after": before}).json()["events"]
    assert [e["type"] for e in events] == ["dev.semtwin.twin.created",
                                           "dev.semtwin.twin.created",
                                           "dev.semtwin.relationship.created"]
    assert len({e["data"]["batch"]["id"] for e in events}) == 1
    twin = httpx.get(f"{server.url}/api/v1/twins/vav-{tag}")
    assert twin.status_code == 200 and twin.headers["etag"].strip('"') == results[1]["$etag"]
    incoming = httpx.get(f"{server.url}/api/v1/twins/vav-{tag}/incoming").json()
    assert [r["$sourceId"] for r in incoming["value"]] == [f"ahu-{tag}"]


def test_one_failing_operation_writes_nothing(server: ServerProcess, tag: str) -> None:
    created = httpx.put(f"{server.url}/api/v1/twins/keep-{tag}",
                        json={"properties": {"https://ex.org/n": 1}})
    etag = created.headers["etag"]
    before = _head(server)
    stale = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "put", "id": f"new-{tag}", "twin": {}},
        {"op": "patch", "id": f"keep-{tag}", "ifMatch": '"not-the-etag"',
         "mergePatch": {"properties": {"https://ex.org/n": 2}}},
    ]})
    assert stale.status_code == 412, stale.text
    assert stale.json()["operation"] == 1
    assert httpx.get(f"{server.url}/api/v1/twins/new-{tag}").status_code == 404
    assert _head(server) == before
    missing_target = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "patch", "id": f"keep-{tag}", "ifMatch": etag,
         "mergePatch": {"properties": {"https://ex.org/n": 3}}},
        {"op": "putRelationship", "id": f"keep-{tag}", "relationshipId": "r",
         "relationship": {"$relationshipName": "brick:feeds", "$targetId": f"nowhere-{tag}"}},
    ]})
    assert missing_target.status_code == 422, missing_target.text
    kept = httpx.get(f"{server.url}/api/v1/twins/keep-{tag}").json()
    assert kept["properties"]["https://ex.org/n"] == 1
    assert _head(server) == before
    ok = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "patch", "id": f"keep-{tag}", "ifMatch": etag,
         "mergePatch": {"properties": {"https://ex.org/n": 4}}},
        {"op": "put", "id": f"other-{tag}", "twin": {}},
    ]})
    assert ok.status_code == 200, ok.text
    assert httpx.get(f"{server.url}/api/v1/twins/keep-{tag}").json()[
        "properties"]["https://ex.org/n"] == 4


@pytest.mark.parametrize(("body", "words"), [
    ({}, "operations"),
    ({"operations": []}, "at least one"),
    ({"operations": [{"op": "explode", "id": "x"}]}, "op must be one of"),
    ({"operations": [{"op": "put", "id": "a", "twin": {}}, {"op": "put", "id": "a",
                                                            "twin": {}}]}, "twice"),
    ({"operations": [{"op": "put", "id": "a", "twin": {"properties": {"bad": {"x": 1}}}}]},
     "operation 0"),
])
def test_bad_batches_are_refused(server: ServerProcess, body: object, words: str) -> None:
    before = _head(server)
    response = httpx.post(f"{server.url}/api/v1/batch", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]
    assert _head(server) == before


def test_cascade_delete_in_a_batch(server: ServerProcess, tag: str) -> None:
    ops = [{"op": "put", "id": f"a-{tag}", "twin": {}}, {"op": "put", "id": f"b-{tag}",
                                                          "twin": {}},
           {"op": "putRelationship", "id": f"a-{tag}", "relationshipId": "r",
            "relationship": {"$relationshipName": "brick:feeds", "$targetId": f"b-{tag}"}}]
    assert httpx.post(f"{server.url}/api/v1/batch", json={"operations": ops}).status_code == 200
    refused = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "delete", "id": f"b-{tag}"}]})
    assert refused.status_code == 409
    head = httpx.get(f"{server.url}/api/v1/events", params={"after": 0}).json()["last"]
    deleted = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "delete", "id": f"b-{tag}", "cascade": True},
        {"op": "delete", "id": f"a-{tag}"}]})
    assert deleted.status_code == 200, deleted.text
    assert [r["status"] for r in deleted.json()["results"]] == [204, 204]
    # the relationship the cascade took has its own event, before its twin's
    events = httpx.get(f"{server.url}/api/v1/events", params={"after": head}).json()["events"]
    assert [(e["sequence"], e["type"].removeprefix("dev.semtwin."), e["subject"])
            for e in events] == [
        (head + 1, "relationship.deleted", f"urn:twin:a-{tag}/relationships/r"),
        (head + 2, "twin.deleted", f"urn:twin:b-{tag}"),
        (head + 3, "twin.deleted", f"urn:twin:a-{tag}")]
    assert httpx.get(f"{server.url}/api/v1/twins/a-{tag}").status_code == 404


def test_a_relationship_retargeted_away_lets_its_old_target_go(server: ServerProcess,
                                                               tag: str) -> None:
    """Moving a relationship to a new target and deleting the old target, without cascade,
    in one batch: the delete is planned against what the move leaves (it was refused 409,
    the store before the batch still linking the two)."""
    ops = [{"op": "put", "id": f"{name}-{tag}", "twin": {}} for name in ("ahu", "old", "new")]
    ops.append({"op": "putRelationship", "id": f"ahu-{tag}", "relationshipId": "feeds",
                "relationship": {"$relationshipName": "brick:feeds",
                                 "$targetId": f"old-{tag}"}})
    assert httpx.post(f"{server.url}/api/v1/batch", json={"operations": ops}).status_code == 200
    moved = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "putRelationship", "id": f"ahu-{tag}", "relationshipId": "feeds",
         "relationship": {"$relationshipName": "brick:feeds", "$targetId": f"new-{tag}"}},
        {"op": "delete", "id": f"old-{tag}"}]})
    assert moved.status_code == 200, moved.text
    assert [r["status"] for r in moved.json()["results"]] == [200, 204]
    assert httpx.get(f"{server.url}/api/v1/twins/old-{tag}").status_code == 404
    relationship = httpx.get(
        f"{server.url}/api/v1/twins/ahu-{tag}/relationships/feeds").json()
    assert relationship["$targetId"] == f"new-{tag}"
    # the new target is still linked: deleting it in the same way is refused
    kept = httpx.post(f"{server.url}/api/v1/batch", json={"operations": [
        {"op": "putRelationship", "id": f"ahu-{tag}", "relationshipId": "feeds",
         "relationship": {"$relationshipName": "brick:feeds", "$targetId": f"new-{tag}"}},
        {"op": "delete", "id": f"new-{tag}"}]})
    assert kept.status_code == 409, kept.text
    assert httpx.get(f"{server.url}/api/v1/twins/new-{tag}").status_code == 200
