"""What grows with time: a twin a device updates all day, and a change feed polled while the
journal grows. In process, on a fresh store on disk each run.

- **Hot twin**: one twin's state updates (``StateService.update``), in blocks; per block the
  updates/s and the mean time to read the twin, with background compaction off
  (``compact_after_updates=0``) and at the default, side by side.
- **Feed polls**: the time to read the five newest entries at several journal lengths, as
  semtwin reads them (by position) and with the scan it used before (``?seq > N``).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from semtwin.runtime import Semtwin
from semtwin.services.pipeline import JOURNAL, ST
from semtwin.settings import Settings
from semtwin.store import SelectResult

_BLOCK = 1000
_POLL = (f"?e <{ST}seq> ?seq ; <{ST}id> ?id ; <{ST}type> ?type ; <{ST}subject> ?subject ; "
         f"<{ST}time> ?time ; <{ST}data> ?data . "
         f"OPTIONAL {{ ?e <{ST}actor> ?actor }} OPTIONAL {{ ?e <{ST}request> ?request }}")


def _runtime(path: Path, compact_after: int) -> Semtwin:
    shutil.rmtree(path, ignore_errors=True)
    runtime = Semtwin.open(Settings(store=str(path), compact_after_updates=compact_after))
    runtime.models.ensure_core()
    return runtime


def _read_ms(runtime: Semtwin, twin_id: str, reads: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(reads):
        runtime.twins.get(twin_id)
    return (time.perf_counter() - started) / reads * 1000


def hot_twin(work: Path, updates: int, compact_after: int) -> list[dict[str, Any]]:
    runtime = _runtime(work / f"hot-{compact_after}", compact_after)
    blocks = []
    try:
        runtime.twins.put("hot", {"properties": {"https://ex.org/temp": 0}})
        for block in range(updates // _BLOCK):
            started = time.perf_counter()
            for i in range(_BLOCK):
                runtime.state.update("hot", {
                    "eventId": f"b{block}-{i}", "sourceTime": "2026-11-26T10:00:00Z",
                    "properties": {"https://ex.org/temp": i}})
            took = time.perf_counter() - started
            blocks.append({"updates": (block + 1) * _BLOCK,
                           "per_s": round(_BLOCK / took, 1),
                           "read_ms": round(_read_ms(runtime, "hot"), 2),
                           "compactions": runtime.compactor.runs})
            print(f"hot twin, compaction after {compact_after or 'never'}: {blocks[-1]}",
                  flush=True)
    finally:
        runtime.close()
    return blocks


def feed_polls(work: Path, lengths: list[int]) -> list[dict[str, Any]]:
    runtime = _runtime(work / "feed", 0)
    rows = []
    try:
        written = 0
        for length in lengths:
            while runtime.pipeline.journal_head() < length:
                runtime.twins.put(f"f{written}", {"properties": {"rdfs:label": "x"}})
                written += 1
            head = runtime.pipeline.journal_head()

            def timed(fn: Any, repeat: int = 10) -> float:
                started = time.perf_counter()
                for _ in range(repeat):
                    fn()
                return (time.perf_counter() - started) / repeat * 1000

            def scan_poll(head: int = head) -> None:
                result = runtime.store.query(
                    f"SELECT * WHERE {{ GRAPH {JOURNAL} {{ {_POLL} FILTER(?seq > {head - 5}) "
                    "}} ORDER BY ?seq LIMIT 5", union_default_graph=False)
                assert isinstance(result, SelectResult)
                list(result.rows)

            by_position = timed(lambda head=head: runtime.pipeline.events(head - 5, 5))
            scan = timed(scan_poll)
            rows.append({"entries": head, "by_position_ms": round(by_position, 2),
                         "scan_ms": round(scan, 2)})
            print(f"feed poll: {rows[-1]}", flush=True)
    finally:
        runtime.close()
    return rows


def run(work: Path, updates: int, lengths: list[int]) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    default = Settings().compact_after_updates
    return {"hot_twin": {"off": hot_twin(work, updates, 0),
                         "default": hot_twin(work, updates, default),
                         "compact_after_updates": default},
            "feed_polls": feed_polls(work, lengths)}


def to_markdown(report: dict[str, Any]) -> str:
    hot = report["hot_twin"]
    lines = ["| updates of one twin | no compaction: updates/s, read | background compaction "
             f"(after {hot['compact_after_updates']}): updates/s, read, runs |",
             "|---|---|---|"]
    for off, on in zip(hot["off"], hot["default"], strict=True):
        lines.append(f"| {off['updates']:,} | {off['per_s']:,.0f}/s, {off['read_ms']} ms | "
                     f"{on['per_s']:,.0f}/s, {on['read_ms']} ms, {on['compactions']} |")
    lines += ["", "| journal entries | poll by position | poll by scan (before) | ratio |",
              "|---|---|---|---|"]
    for row in report["feed_polls"]:
        ratio = row["scan_ms"] / row["by_position_ms"] if row["by_position_ms"] else 0
        lines.append(f"| {row['entries']:,} | {row['by_position_ms']} ms | {row['scan_ms']} ms "
                     f"| {ratio:,.0f}× |")
    return "\n".join(lines)
