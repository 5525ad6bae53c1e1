"""State updates from devices: source-timestamped property values, de-duplicated by event id.

A duplicate event id is ignored (the id is claimed in the same transaction as the change);
a value older than the property's last source time does not overwrite it (out-of-order
delivery). Both outcomes are reported. Each property's source time lives in the metadata
graph on a node of its own, so replacing the twin does not lose it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from semtwin.errors import InvalidInput, PreconditionFailed
from semtwin.rdf import Literal, NamedNode, Quad
from semtwin.services.pipeline import (
    META,
    ST,
    AlreadyApplied,
    Changeset,
    Precondition,
    WritePipeline,
)
from semtwin.services.twins import TwinService, json_object
from semtwin.store import SelectResult, TwinStore

XSD_DATETIME = NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
STATE_OF, PROPERTY, SOURCE_TIME = (NamedNode(f"{ST}stateOf"), NamedNode(f"{ST}property"),
                                   NamedNode(f"{ST}sourceTime"))


def _parse_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise InvalidInput("sourceTime must be an RFC 3339 date-time string")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"sourceTime {text!r} is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"sourceTime {text!r} needs a time zone (Z or +hh:mm)")
    return parsed


class _AllStale(Exception):
    """No value of a state update is newer than the stored one: nothing to write."""


class StateService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline, twins: TwinService) -> None:
        self._store = store
        self._pipeline = pipeline
        self._twins = twins

    def _state_node(self, twin: NamedNode, prop: NamedNode) -> NamedNode:
        digest = hashlib.sha1(prop.value.encode()).hexdigest()[:20]
        return NamedNode(f"{twin.value}#state-{digest}")

    def _source_times(self, twin: NamedNode) -> dict[str, tuple[NamedNode, Literal]]:
        result = self._store.query(
            f"SELECT ?node ?p ?t WHERE {{ GRAPH {META} {{ ?node {STATE_OF} {twin} ; "
            f"{PROPERTY} ?p ; {SOURCE_TIME} ?t }} }}", union_default_graph=False)
        assert isinstance(result, SelectResult)
        return {row[1].value: (row[0], row[2]) for row in result.rows  # type: ignore[misc,union-attr]
                if isinstance(row[2], Literal)}

    def update(self, twin_id: str, body: Any, *, request_id: str | None = None
               ) -> dict[str, Any]:
        body = json_object(body, {"eventId", "sourceTime", "properties"}, "a state update")
        event_id = body.get("eventId")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
            raise InvalidInput("eventId must be a string of 1 to 255 characters")
        source_time = _parse_time(body.get("sourceTime"))
        values = body.get("properties")
        if not isinstance(values, dict) or not values:
            raise InvalidInput("properties must be a non-empty object")
        twin = self._twins.iri(twin_id)
        key = f"state {twin.value} {event_id}"
        if self._pipeline.replay(key) is not None:
            return {"eventId": event_id, "duplicate": True, "applied": [], "stale": []}
        new_terms = {}
        for name, value in values.items():
            prop = self._twins.expand(name, f"properties.{name}")
            new_terms[name] = (prop, self._twins.to_quads(
                twin_id, twin, {"properties": {name: value}}))
        changeset = Changeset(event_type="twin.state", subject=twin,
                              new_etag=uuid.uuid4().hex, idempotency_key=key,
                              request_id=request_id)
        outcome: dict[str, list[str]] = {}

        def decide() -> None:
            """Which values apply against the twin as stored: planned first, then again under
            the write lock if the twin changed meanwhile (devices updating one twin at once
            would otherwise mostly fail their condition and retry)."""
            current = self._twins.get(twin_id)  # NotFound for an unknown twin
            times = self._source_times(twin)
            applied, stale, remove, add = [], [], [], []
            for name, (prop, quads) in new_terms.items():
                previous = times.get(prop.value)
                if previous is not None and _parse_time(previous[1].value) > source_time:
                    stale.append(name)
                    continue
                applied.append(name)
                remove += [q for q in self._store.quads(twin, prop, None, twin)]
                add += quads
                node = self._state_node(twin, prop)
                if previous is not None:
                    remove.append(Quad(node, SOURCE_TIME, previous[1], META))
                add += [Quad(node, STATE_OF, twin, META), Quad(node, PROPERTY, prop, META),
                        Quad(node, SOURCE_TIME, Literal(source_time.isoformat(),
                                                        datatype=XSD_DATETIME), META)]
            outcome["applied"], outcome["stale"] = applied, stale
            if not applied:
                raise _AllStale
            property_times: dict[str, str | None] = {
                key: entry["lastUpdateTime"]
                for key, entry in current.body["$metadata"].get("properties", {}).items()}
            for name in applied:
                property_times[self._twins.compact(new_terms[name][0].value)] = None
            changeset.remove, changeset.add = remove, add
            changeset.property_times = property_times
            changeset.precondition = Precondition(twin, if_match=current.etag)
            changeset.data = {"$id": twin_id, "eventId": event_id,
                              "sourceTime": body["sourceTime"], "applied": applied,
                              "stale": stale, "values": {n: values[n] for n in applied}}

        changeset.rebase = decide
        for _attempt in range(3):
            try:
                decide()
                self._pipeline.commit(changeset)
            except _AllStale:
                pass
            except AlreadyApplied:
                return {"eventId": event_id, "duplicate": True, "applied": [], "stale": []}
            except PreconditionFailed:
                continue  # another process wrote the twin meanwhile: decide again
            return {"eventId": event_id, "duplicate": False, **outcome}
        raise PreconditionFailed("the twin kept changing; retry the state update")


