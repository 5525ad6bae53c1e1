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
