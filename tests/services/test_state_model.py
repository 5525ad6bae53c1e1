"""Device state updates against a model: random updates of a few properties, event ids that
repeat, source times out of order and written with different UTC offsets, and ordinary
patches between them. Each answer (duplicate, applied, stale) and the twin's values must be
what the model says: a value applies unless the property's stored source time is later, an
event id counts as seen once an update with it applied something."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from semtwin.runtime import Semtwin
from semtwin.settings import Settings

EX = "https://ex.org/"
PROPS = [EX + "temp", EX + "hum", EX + "on"]
BASE = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _spelled(moment: datetime, rng: random.Random) -> str:
    """The same instant in a random offset and spelling."""
    offset = timezone(timedelta(hours=rng.choice([0, 2, -5])))
    text = moment.astimezone(offset).isoformat()
    return text.replace("+00:00", "Z") if rng.random() < 0.5 else text


@pytest.mark.parametrize("seed", range(3))
def test_state_updates_agree_with_the_model(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    twins = ["d1", "d2"]
    values: dict[tuple[str, str], Any] = {}
    times: dict[tuple[str, str], datetime] = {}
    seen: set[tuple[str, str]] = set()
    for twin in twins:
        runtime.twins.put(twin, {"$types": [EX + "Sensor"]})
    for _ in range(300):
        twin = rng.choice(twins)
        if rng.random() < 0.1:  # an ordinary write of a value: its source time stays
            prop, value = rng.choice(PROPS), rng.randrange(100)
            runtime.twins.patch(twin, "merge", {"properties": {prop: value}})
            values[(twin, prop)] = value
            continue
        event = f"e{rng.randrange(40)}"
        moment = BASE + timedelta(seconds=rng.randrange(60))
        update = {prop: rng.choice([rng.randrange(100), rng.random() < 0.5, "x"])
                  for prop in rng.sample(PROPS, rng.randrange(1, 4))}
        answer = runtime.state.update(twin, {"eventId": event,
                                             "sourceTime": _spelled(moment, rng),
                                             "properties": update})
        if (twin, event) in seen:
            assert answer == {"eventId": event, "duplicate": True, "applied": [], "stale": []}
            continue
        applied = sorted(p for p in update if (twin, p) not in times or times[(twin, p)] <= moment)
        assert (answer["duplicate"], sorted(answer["applied"]), sorted(answer["stale"])) == (
            False, applied, sorted(set(update) - set(applied))), (twin, event, moment, update)
        for prop in applied:
            values[(twin, prop)] = update[prop]
            times[(twin, prop)] = moment
        if applied:
            seen.add((twin, event))
    for twin in twins:
        properties = runtime.twins.get(twin).body["properties"]
        assert properties == {p: v for (t, p), v in values.items() if t == twin}
    runtime.close()


def test_a_twin_read_half_written_is_read_again(tmp_path: Path) -> None:
    """On a store whose readers can see an update half done (Virtuoso), a read can meet a
    twin between the removal of its old metadata and the insertion of the new: CI met a
    device update refused 404 ("no twin") that way. Such a store's twin reads look again
    before a twin counts as missing; a twin really gone is still missing."""
    from dataclasses import replace

    from semtwin.errors import NotFound

    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.twins.put("d1", {"$types": [EX + "Sensor"]})
    store = runtime.twins._store  # the store the twin service reads
    isolated = store.capabilities
    quads = store.quads
    half_done = [1]

    def reads(subject: Any = None, predicate: Any = None, obj: Any = None,
              graph: Any = None) -> Any:
        if half_done and graph is not None and graph.value == "urn:semtwin:meta":
            half_done.pop()
            return iter(())  # the old metadata gone, the new not yet there
        return quads(subject, predicate, obj, graph)

    store.quads = reads  # type: ignore[method-assign]
    store._capabilities = replace(  # type: ignore[attr-defined]
        isolated, extra={**isolated.extra, "isolated_reads": False})
    try:
        answer = runtime.state.update("d1", {"eventId": "e1",
                                             "sourceTime": "2026-11-27T10:00:00Z",
                                             "properties": {EX + "temp": 21}})
        assert answer["applied"] == [EX + "temp"] and not half_done
        runtime.twins.delete("d1")
        with pytest.raises(NotFound):
            runtime.twins.get("d1")
    finally:
        runtime.close()
