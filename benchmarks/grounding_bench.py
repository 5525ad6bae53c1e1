"""Grounding at about 1M triples: resolve and describe latency, index build and update cost.

``python -m benchmarks grounding [--buildings 39] [--requests 500] [--writes 500]``

The seeded Brick campus of ``semtwin.demo`` (39 buildings: about 1M quads, 190k named
entities whose labels repeat a lot: every point of a kind has the same label) is bulk
loaded into an on-disk store. Then:

- through a real ``semtwin serve`` process, one client on loopback with keep-alive:
  ``/api/v1/ground/resolve`` for mentions drawn from the data (room labels, identifiers,
  equipment labels, point kinds, partial phrases) and ``/api/v1/ground/describe`` (budget
  500) of random entities; p50/p95/p99. The first resolve builds the index (reported apart).
- in process (the service itself, no HTTP): the same calls, the index build time and memory,
  and the index update cost per write: twin writes through the pipeline, each followed by a
  resolve (the index catches up one event), and a catch-up of many writes at once.
- with embeddings (``semtwin[embeddings]`` installed): the hybrid resolve and the build.
"""

from __future__ import annotations

import random
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._servers import semtwin_server
from semtwin.demo.generator import BuildingSpec, generate_building_graph
from semtwin.rdf import RdfFormat, serialize

CITIES_HINT = ("Oslo", "Berlin", "Lyon", "Turin", "Porto", "Gent")


def build_store(work: Path, buildings: int) -> tuple[Path, int]:
    from semtwin.store.embedded import EmbeddedStore

    store = work / f"campus-{buildings}"
    if not store.exists():
        data = work / f"campus-{buildings}.nq"
        work.mkdir(parents=True, exist_ok=True)
        quads = list(generate_building_graph(BuildingSpec(
            buildings=buildings, floors=20, rooms_per_floor=20, equipment_per_room=4)))
        data.write_bytes(serialize(quads, format=RdfFormat.N_QUADS) or b"")
        embedded = EmbeddedStore(store)
        with data.open("rb") as stream:
            embedded.bulk_load(stream, RdfFormat.N_QUADS)
        embedded.close()
        data.unlink()
    embedded = EmbeddedStore(store)
    count = embedded.count()
    embedded.close()
    return store, count


def workload(store: Path, requests: int) -> tuple[list[str], list[str]]:
    """(mentions, entity IRIs) drawn with a fixed seed from the store's labels."""
    from semtwin.runtime import Semtwin
    from semtwin.settings import Settings
    from semtwin.store import SelectResult

    runtime = Semtwin.open(Settings(store=str(store)))
    try:
        result = runtime.store.query(
            "SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }",
            union_default_graph=True)
        assert isinstance(result, SelectResult)
        labelled = [(str(r[0].value), str(r[1].value)) for r in result.rows  # type: ignore[union-attr]
                    if r[0] is not None and r[1] is not None]
    finally:
        runtime.close()
    rng = random.Random(11)
    mentions = []
    for _ in range(requests):
        _iri, label = labelled[rng.randrange(len(labelled))]
        words = label.split()
        style = rng.randrange(4)
        if style == 0 or len(words) < 3:
            mentions.append(label)                                   # the exact label
        elif style == 1:
            mentions.append(label.lower())                           # as typed
        elif style == 2:
            mentions.append(" ".join(words[:2]))                     # a partial phrase
        else:
            mentions.append(f"{words[0]} {rng.choice(CITIES_HINT)}")  # kind and a place
    entities = [labelled[rng.randrange(len(labelled))][0] for _ in range(requests)]
    return mentions, entities


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2), "n": len(ordered)}


def _timed(items: list[str], call: Any) -> dict[str, float]:
    """Percentiles of ``call(item)`` over the items, one after the other."""
    samples = []
    for item in items:
        start = time.perf_counter()
        call(item)
        samples.append(time.perf_counter() - start)
    return _percentiles(samples)


def over_http(store: Path, work: Path, mentions: list[str], entities: list[str]
              ) -> dict[str, Any]:
    server = semtwin_server(store, work / "grounding-server.log").start()
    base = f"http://127.0.0.1:{server.port}/api/v1/ground"
    try:
        with httpx.Client(timeout=120) as client:
            start = time.perf_counter()
            client.get(f"{base}/resolve", params={"text": "warm up"}).raise_for_status()
            first = time.perf_counter() - start
            resolve = _timed(mentions, lambda text: client.get(
                f"{base}/resolve", params={"text": text, "k": 10}).raise_for_status())
            describe = _timed(entities, lambda iri: client.get(
                f"{base}/describe", params={"iri": iri, "budget": 500}).raise_for_status())
        return {"first_resolve_s": round(first, 2), "resolve": resolve,
                "describe": describe, "peak_rss_mb": round(server.peak_rss_mb())}
    finally:
        server.stop()


def in_process(store: Path, mentions: list[str], entities: list[str], writes: int,
               embeddings: bool) -> dict[str, Any]:
    from semtwin.runtime import Semtwin
    from semtwin.settings import Settings

    runtime = Semtwin.open(Settings(store=str(store), grounding_embeddings=embeddings))
    try:
        grounding = runtime.grounding
        before = _rss_mb()
        start = time.perf_counter()
        index = grounding.index()
        build = time.perf_counter() - start
        out: dict[str, Any] = {"entities": len(index), "build_s": round(build, 2),
                               "index_rss_growth_mb": round(_rss_mb() - before)}
        out["resolve"] = _timed(mentions, lambda text: grounding.resolve(text, 10))
        if embeddings:
            return out
        out["describe"] = _timed(entities, lambda iri: grounding.describe(iri, 500))
        # Index update cost: each write followed by a resolve that catches up one event.
        catch_up, write = [], []
        for i in range(writes):
            start = time.perf_counter()
            runtime.twins.put(f"bench-ground-{i}", {
                "$types": ["https://brickschema.org/schema/Brick#VAV"],
                "properties": {"http://www.w3.org/2000/01/rdf-schema#label":
                               f"Bench box {i} north wing"}})
            middle = time.perf_counter()
            grounding.index()
            catch_up.append(time.perf_counter() - middle)
            write.append(middle - start)
        found = grounding.resolve(f"Bench box {writes - 1} north wing", 1)["matches"]
        assert found and found[0]["iri"].endswith(f"bench-ground-{writes - 1}"), found
        out["write"] = _percentiles(write)
        out["index_catch_up_per_write"] = _percentiles(catch_up)
        # Many writes, then one catch-up (a reader that comes back after a burst).
        for i in range(writes):
            runtime.twins.delete(f"bench-ground-{i}")
        start = time.perf_counter()
        grounding.index()
        burst = time.perf_counter() - start
        out["burst_catch_up"] = {"writes": writes, "total_ms": round(burst * 1000, 1),
                                 "per_write_ms": round(burst * 1000 / writes, 3)}
        return out
    finally:
        runtime.close()


def run(work: Path, buildings: int, requests: int, writes: int) -> dict[str, Any]:
    pristine, quads = build_store(work, buildings)
    store = work / f"campus-{buildings}-run"  # writes land in a copy: every run starts alike
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(pristine, store)
    try:
        return _run(work, store, quads, buildings, requests, writes)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def _run(work: Path, store: Path, quads: int, buildings: int, requests: int, writes: int
         ) -> dict[str, Any]:
    mentions, entities = workload(store, requests)
    report: dict[str, Any] = {"quads": quads, "buildings": buildings,
                              "http": over_http(store, work, mentions, entities),
                              "in_process": in_process(store, mentions, entities, writes, False)}
    try:
        import wordllama  # noqa: F401
    except ImportError:
        report["embeddings"] = "not installed (pip install -e .[embeddings])"
    else:
        report["embeddings"] = in_process(store, mentions, entities, 0, True)
    return report


def to_markdown(report: dict[str, Any]) -> str:
    http, local = report["http"], report["in_process"]

    def row(name: str, cell: dict[str, Any], target: str) -> str:
        return (f"| {name} | {cell['p50_ms']} | {cell['p95_ms']} | {cell['p99_ms']} | "
                f"{target} |")

    lines = [f"{report['quads']:,} quads, {local['entities']:,} entities in the index.", "",
             "| call | p50 ms | p95 ms | p99 ms | target |", "|---|---|---|---|---|",
             row("resolve, HTTP", http["resolve"], "p95 < 20 ms"),
             row("resolve, in process", local["resolve"], ""),
             row("describe (budget 500), HTTP", http["describe"], "p95 < 50 ms"),
             row("describe, in process", local["describe"], ""),
             row("twin write (for scale)", local["write"], ""),
             row("index catch-up after one write", local["index_catch_up_per_write"], "")]
    emb = report["embeddings"]
    if isinstance(emb, dict):
        lines.append(row("resolve, hybrid with embeddings, in process", emb["resolve"], ""))
    burst = local["burst_catch_up"]
    lines += ["", f"Index build: {local['build_s']} s in process ({local['entities']:,} "
              f"entities, +{local['index_rss_growth_mb']} MB RSS); first resolve over "
              f"HTTP (builds it) {http['first_resolve_s']} s; server peak RSS "
              f"{http['peak_rss_mb']} MB. Catch-up after a burst of {burst['writes']} "
              f"deletes: {burst['total_ms']} ms ({burst['per_write_ms']} ms per write)."]
    if isinstance(emb, dict):
        lines.append(f"With embeddings: build {emb['build_s']} s "
                     f"(+{emb['index_rss_growth_mb']} MB).")
    return "\n".join(lines)
