"""SPARQL updates that read what they write take turns: concurrent read-modify-write
updates (a counter) behave as if run one after the other, on every backend. Planned outside
the write lock, eight threads of 25 increments left eight counter values between 25 and 35."""

from __future__ import annotations

import concurrent.futures

from semtwin.runtime import Semtwin
from semtwin.settings import Settings
from semtwin.store import SelectResult, UpdateDataset

EX = "https://ex.org/"
COUNTER = f"GRAPH <{EX}g> {{ <{EX}c> <{EX}n> ?n }}"
INCREMENT = (f"DELETE {{ {COUNTER} }} INSERT {{ GRAPH <{EX}g> {{ <{EX}c> <{EX}n> ?m }} }} "
             f"WHERE {{ {COUNTER} BIND(?n + 1 AS ?m) }}")


def test_concurrent_increments_lose_nothing(store_location: str) -> None:
    runtime = Semtwin.open(Settings(store=store_location))
    try:
        runtime.sparql.update(f"INSERT DATA {{ GRAPH <{EX}g> {{ <{EX}c> <{EX}n> 0 }} }}",
                              UpdateDataset())
        head = runtime.pipeline.journal_head()

        def increments(count: int) -> None:
            for _ in range(count):
                runtime.sparql.update(INCREMENT, UpdateDataset())

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            for done in [pool.submit(increments, 10) for _ in range(6)]:
                done.result()
        result = runtime.store.query(f"SELECT ?n WHERE {{ {COUNTER} }}")
        assert isinstance(result, SelectResult)
        assert [row[0].value for row in result.rows if row[0] is not None] == ["60"]
        assert runtime.pipeline.journal_head() == head + 60  # one event an increment
    finally:
        runtime.close()
