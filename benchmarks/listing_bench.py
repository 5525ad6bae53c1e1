"""One listing page at a time, in process: what each kind of page costs at 100k and 1M twins.

``python -m benchmarks listing [--twins 100000,1000000]``

The stores of the twin benchmark (``benchmarks twins``), opened by the runtime itself (no
HTTP, one caller): the first listing (which builds the twin index), then the median of ten
pages of ``type=brick:VAV`` alone, with a filter many VAVs match (``floor eq 5``: one in
eight) and with one none match (``floor eq 17``), and five pages followed by their cursors.
A filter's first page reads the twins its equality holds for, which later pages reuse
(``services/holders.py``): "first" is the median over seven or eight floors asked for the
first time,
"again" the median of ten pages of one floor asked before. Then the first page of a label
search (``q=twin 1``: one twin in nine) and of two filters without an index lookup
(``power gt 495``, ``serial contains "0000"``), the median of three; on the grown stores
the twins the create cells added (VAVs without label, power or serial) come first in IRI
order, so a walk of the type meets them before any match.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.twin_bench import build_store

FLOOR = "https://ex.org/floor"


def _median_ms(fn: Any, runs: int = 10) -> float:
    samples = []
    for run in range(runs):
        began = time.perf_counter()
        fn(run)
        samples.append(time.perf_counter() - began)
    return round(statistics.median(samples) * 1000, 1)


_VAV_FLOORS = [0, 10, 15, 20, 25, 30, 35]  # floor 5 is the one asked again
_EMPTY_FLOORS = [1, 2, 3, 4, 6, 7, 8, 9]  # floor 17 is the one asked again


def run(work: Path, sizes: list[int]) -> dict[str, Any]:
    from semtwin.runtime import Semtwin
    from semtwin.settings import Settings

    rows = []
    for twins in sizes:
        store, quads = build_store(work, twins)
        runtime = Semtwin.open(Settings(store=str(store)))
        try:
            nav = runtime.navigation

            def page(where: list[str], cursor: str | None = None, nav: Any = nav,
                     q: str | None = None) -> Any:
                return nav.list_twins(type_iri="brick:VAV", q=q, limit=100,
                                      cursor=cursor, where=where)

            began = time.perf_counter()
            page([])
            row: dict[str, Any] = {"twins": twins, "quads": quads,
                                   "first_listing_s": round(time.perf_counter() - began, 2)}
            row["type_only_ms"] = _median_ms(lambda _: page([]))
            row["many_match_first_ms"] = _median_ms(
                lambda run: page([f"{FLOOR} eq {_VAV_FLOORS[run]}"]), runs=len(_VAV_FLOORS))
            row["many_match_ms"] = _median_ms(lambda _: page([f"{FLOOR} eq 5"]))
            row["none_match_first_ms"] = _median_ms(
                lambda run: page([f"{FLOOR} eq {_EMPTY_FLOORS[run]}"]), runs=len(_EMPTY_FLOORS))
            row["none_match_ms"] = _median_ms(lambda _: page([f"{FLOOR} eq 17"]))

            def five_pages(_: int) -> None:
                cursor = None
                for _ in range(5):
                    cursor = page([f"{FLOOR} eq 5"], cursor).next_cursor
            row["five_filtered_pages_ms"] = _median_ms(five_pages, runs=3)
            row["label_search_ms"] = _median_ms(lambda _: page([], q="twin 1"), runs=3)
            row["range_filter_ms"] = _median_ms(lambda _: page(["https://ex.org/power gt 495"]),
                                                runs=3)
            row["contains_filter_ms"] = _median_ms(
                lambda _: page(['https://ex.org/serial contains "0000"']), runs=3)
            rows.append(row)
        finally:
            runtime.close()
    return {"sizes": rows}


def to_markdown(report: dict[str, Any]) -> str:
    lines = ["| twins | first listing (builds the index) | type only | filter, many match: "
             "first, again | filter, none match: first, again | 5 filtered pages | "
             "label search | range filter | contains filter |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report["sizes"]:
        lines.append(f"| {r['twins']:,} | {r['first_listing_s']} s | {r['type_only_ms']} ms | "
                     f"{r['many_match_first_ms']}, {r['many_match_ms']} ms | "
                     f"{r['none_match_first_ms']}, {r['none_match_ms']} ms | "
                     f"{r['five_filtered_pages_ms']} ms | {r.get('label_search_ms')} ms | "
                     f"{r.get('range_filter_ms')} ms | {r.get('contains_filter_ms')} ms |")
    return "\n".join(lines)
