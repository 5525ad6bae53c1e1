"""The foundation benchmark: an analyst query mix over a generated ~1M-triple twin graph.

semtwin ``/sparql`` and ``oxigraph serve`` (same data, same machine, union default graph)
side by side; semtwin and ``rdflib-endpoint`` side by side on a smaller graph that
rdflib can load. On light queries both also run against ``benchmarks.minimal_server`` (the
least a Python endpoint over pyoxigraph can do per request), the single-process ceiling.
Load speed against raw pyoxigraph ``bulk_load`` and ``oxigraph load``, and
each server's peak memory. Then semtwin over remote stores (Oxigraph server, a throwaway
Virtuoso) with one and two API processes against the embedded store.
``--parts local,remote,small`` picks parts; one not run keeps its saved numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph

from benchmarks._servers import (
    Server,
    loaded_remote_store,
    minimal_server,
    oxigraph_server,
    rdflib_endpoint_server,
    semtwin_server,
)
from benchmarks._wrk import run_wrk, wrk_available
from semtwin.demo.generator import BuildingSpec, generate_building_graph

HEAVY_CONNECTIONS = 4
PREFIXES = """PREFIX brick: <https://brickschema.org/schema/Brick#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <https://semtwin.dev/demo/schema#>
"""
BASE = "https://semtwin.dev/demo/"


def queries(buildings: int) -> dict[str, tuple[str, str]]:
    """name -> (weight class, query). Rooms and equipment named exist at every scale."""
    room = f"<{BASE}building/{buildings - 1}/floor/1/room/3>"
    return {
        "point lookup": ("light", f"SELECT ?p ?o WHERE {{ {room} ?p ?o }}"),
        "2-hop join": ("light", PREFIXES + f"SELECT ?e ?pt ?type WHERE {{ ?e brick:hasLocation "
                                           f"{room} . ?e brick:hasPoint ?pt . ?pt a ?type }}"),
        "type + subclass path": ("heavy", PREFIXES + "SELECT (COUNT(?x) AS ?n) WHERE { ?x a ?c . "
                                 "?c rdfs:subClassOf* brick:Terminal_Unit }"),
        "aggregation": ("heavy", PREFIXES + "SELECT ?type (COUNT(?p) AS ?n) (AVG(?v) AS ?avg) "
                        "WHERE { ?p a ?type ; schema:value ?v } GROUP BY ?type"),
        "text FILTER": ("heavy", PREFIXES + "SELECT ?x ?l WHERE { ?x rdfs:label ?l "
                        'FILTER(CONTAINS(LCASE(?l), "laboratory 3.1")) }'),
    }


@dataclass
class Dataset:
    name: str
    spec: BuildingSpec
    nquads: Path
    turtle: Path
    quads: int


def build_dataset(work: Path, name: str, spec: BuildingSpec) -> Dataset:
    nquads = work / f"{name}.nq"
    turtle = work / f"{name}.ttl"
    if not nquads.exists():
        quads = list(generate_building_graph(spec))
        pyoxigraph.serialize(quads, str(nquads), pyoxigraph.RdfFormat.N_QUADS)
        pyoxigraph.serialize([q.triple for q in quads], str(turtle), pyoxigraph.RdfFormat.TURTLE)
    count = sum(1 for _ in nquads.open("rb"))
    return Dataset(name, spec, nquads, turtle, count)


def measure_loads(work: Path, data: Dataset) -> dict[str, float]:
    """quads/s for raw pyoxigraph bulk_load, ``semtwin load`` and ``oxigraph load``."""
    import shutil

    results: dict[str, float] = {}
    raw_dir = work / "load-raw"
    shutil.rmtree(raw_dir, ignore_errors=True)
    started = time.perf_counter()
    store = pyoxigraph.Store(str(raw_dir))
    store.bulk_load(path=str(data.nquads), format=pyoxigraph.RdfFormat.N_QUADS)
    store.flush()
    results["pyoxigraph bulk_load"] = data.quads / (time.perf_counter() - started)
    del store
    shutil.rmtree(raw_dir, ignore_errors=True)

    for name, command in (
        # without the compaction it does by default: neither of the others compacts
        ("semtwin load", [sys.executable, "-m", "semtwin", "load", str(data.nquads),
                          "--no-compact", "--store", str(work / "semtwin-big")]),
        ("oxigraph load", [str(Path(sys.executable).with_name("oxigraph")), "load",
                           "--location", str(work / "oxigraph-big"), "--file", str(data.nquads)]),
    ):
        target = Path(command[command.index("--store") + 1] if "--store" in command
                      else command[command.index("--location") + 1])
        shutil.rmtree(target, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        results[name] = data.quads / (time.perf_counter() - started)
    return results


def store_copy(source: Path, target: Path) -> Path:
    """A copy of a closed store directory (a RocksDB checkpoint: hard links), for a second
    server process: a store directory is locked to one process."""
    import shutil

    from semtwin.store.embedded import EmbeddedStore

    shutil.rmtree(target, ignore_errors=True)
    store = EmbeddedStore(source)
    try:
        store.backup(target)  # what `semtwin backup` does
    finally:
        store.close()
    return target


def check_agreement(servers: list[Server], mix: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Every server must give the same number of result rows before it is timed."""
    counts: dict[str, Any] = {}
    for name, (_, query) in mix.items():
        row = {}
        for server in servers:
            response = httpx.get(server.endpoint, params={"query": query}, timeout=300,
                                 headers={"Accept": "application/sparql-results+json"})
            response.raise_for_status()
            row[server.name] = len(response.json()["results"]["bindings"])
        if len(set(row.values())) != 1:
            raise RuntimeError(f"servers disagree on {name!r}: {row}")
        counts[name] = row
    return counts


def time_mix(servers: list[Server], mix: dict[str, tuple[str, str]], seconds: int,
             connections: int, light_only: tuple[Server, ...] = ()) -> dict[str, dict[str, Any]]:
    """wrk on each query and server; ``light_only`` servers skip the heavy queries."""
    results: dict[str, dict[str, Any]] = {}
    for name, (weight, query) in mix.items():
        # heavy queries take seconds each: fewer connections, so requests finish in the window
        conns = connections if weight == "light" else min(connections, HEAVY_CONNECTIONS)
        results[name] = {"weight": weight, "connections": conns}
        for server in servers:
            if weight != "light" and server in light_only:
                continue
            run_wrk(server.endpoint, query, seconds=2, connections=conns)  # warm up
            result = run_wrk(server.endpoint, query, seconds=seconds, connections=conns)
            results[name][server.name] = asdict(result)
    return results


RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def measure_isolation(server: Server, query: str, seconds: int,
                      connections: int) -> dict[str, Any]:
    """A light query's throughput and latency while two runaway queries run."""
    import concurrent.futures

    def runaway() -> int:
        response = httpx.get(server.endpoint, params={"query": RUNAWAY}, timeout=300,
                             headers={"Accept": "application/sparql-results+json"})
        return response.status_code

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(runaway) for _ in range(2)]
        time.sleep(1.0)
        during = run_wrk(server.endpoint, query, seconds=seconds, connections=connections)
        still_running = sum(not f.done() for f in futures)
        statuses = [f.result() for f in futures]
    return {"during": asdict(during), "runaways_running_throughout": still_running,
            "runaway_statuses": statuses}


def time_mix_spread(servers: list[Server], mix: dict[str, tuple[str, str]], seconds: int,
                    connections: int) -> dict[str, float]:
    """Requests/s of several API processes driven at once (one wrk each), summed."""
    import concurrent.futures

    totals: dict[str, float] = {}
    for name, (_, query) in mix.items():
        per = max(1, connections // len(servers))

        def drive(server: Server, duration: int, query: str = query, per: int = per) -> Any:
            return run_wrk(server.endpoint, query, seconds=duration, connections=per)

        with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(lambda s: drive(s, 2), servers))
            results = list(pool.map(lambda s: drive(s, seconds), servers))
        totals[name] = sum(r.requests_per_s for r in results)
    return totals


REMOTE_BACKENDS = ("Oxigraph", "Virtuoso")


def _answers(server: Server, mix: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """Each query's solutions, sorted, numbers to 9 significant digits (stores differ in
    the datatype and last digits of an average): what every setup must agree on."""
    def show(cell: dict[str, str]) -> str:
        try:
            return f"{float(cell['value']):.9g}"
        except ValueError:
            return cell["value"]

    answers = {}
    for name, (_, query) in mix.items():
        response = httpx.get(server.endpoint, params={"query": query}, timeout=600,
                             headers={"Accept": "application/sparql-results+json"})
        response.raise_for_status()
        answers[name] = sorted(
            " ".join(f"{k}={show(v)}" for k, v in sorted(row.items()))
            for row in response.json()["results"]["bindings"])
    return answers


def run_remote(work: Path, data: Dataset, mix: dict[str, tuple[str, str]], *, seconds: int,
               connections: int) -> dict[str, Any]:
    """semtwin embedded vs semtwin over each remote store, with one and two API processes.
    Every setup must give the embedded server's answers before it is timed."""
    out: dict[str, Any] = {"load_quads_per_s": {}}
    embedded = semtwin_server(work / "semtwin-big", work / "semtwin-embedded.log")
    try:
        embedded.start()
        expected = _answers(embedded, mix)
        out["embedded, 1 process"] = time_mix_spread([embedded], mix, seconds, connections)
    finally:
        embedded.stop()
    for backend in REMOTE_BACKENDS:
        with loaded_remote_store(work, data.nquads, backend.lower()) as (location, load_s):
            out["load_quads_per_s"][backend] = data.quads / load_s
            apis = [semtwin_server(location, work / f"semtwin-remote-{i}.log")
                    for i in range(2)]
            try:
                for api in apis:
                    api.start()
                    answers = _answers(api, mix)
                    wrong = [name for name in mix if answers[name] != expected[name]]
                    if wrong:
                        raise RuntimeError(f"semtwin over {backend} disagrees with the "
                                           f"embedded store on {wrong}")
                out[f"remote {backend}, 1 process"] = time_mix_spread(apis[:1], mix, seconds,
                                                                      connections)
                out[f"remote {backend}, 2 processes"] = time_mix_spread(apis, mix, seconds,
                                                                        connections)
            finally:
                for api in apis:
                    api.stop()
    return out


PARTS = ("local", "remote", "small")


def run(work: Path, *, seconds: int, connections: int, buildings: int,
        small_buildings: int, parts: tuple[str, ...] = PARTS,
        saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the parts asked for; a part not run keeps its numbers from ``saved``."""
    if not wrk_available():
        raise SystemExit("wrk is needed (Debian package 'wrk'): apt-get install wrk")
    work.mkdir(parents=True, exist_ok=True)
    big = build_dataset(work, f"campus-{buildings}", BuildingSpec(
        buildings=buildings, floors=20, rooms_per_floor=20, equipment_per_room=4))
    small = build_dataset(work, f"campus-{small_buildings}", BuildingSpec(
        buildings=small_buildings, floors=20, rooms_per_floor=20, equipment_per_room=4))
    report: dict[str, Any] = dict(saved or {})
    report |= {"big_quads": big.quads, "small_quads": small.quads, "seconds": seconds,
               "connections": connections}
    print(f"big graph: {big.quads} quads; small graph: {small.quads} quads", flush=True)
    mix_big = queries(buildings)
    if "local" in parts or not (work / "semtwin-big").exists():
        report["load"] = measure_loads(work, big)
        print("load:", json.dumps(report["load"]), flush=True)
    if "local" in parts:
        minimal = minimal_server(store_copy(work / "semtwin-big", work / "minimal-big"),
                                 work / "minimal-big.log")
        servers = [semtwin_server(work / "semtwin-big", work / "semtwin-big.log"),
                   oxigraph_server(work / "oxigraph-big", work / "oxigraph-big.log"), minimal]
        try:
            for server in servers:
                server.start()
            report["agreement_big"] = check_agreement(servers, mix_big)
            report["big"] = time_mix(servers, mix_big, seconds, connections, (minimal,))
            report["isolation"] = measure_isolation(servers[0], mix_big["point lookup"][1],
                                                    seconds, connections)
            report["peak_rss_mb_big"] = {s.name: s.peak_rss_mb() for s in servers}
        finally:
            for server in servers:
                server.stop()
    if "remote" in parts:
        report["remote"] = run_remote(work, big, mix_big, seconds=seconds,
                                      connections=connections)
    if "small" in parts:
        report |= run_small(work, small, seconds, connections)
    return report


def run_small(work: Path, small: Dataset, seconds: int, connections: int) -> dict[str, Any]:
    """semtwin and rdflib-endpoint on the small graph."""
    import shutil

    report: dict[str, Any] = {}
    small_store = work / "semtwin-small"
    shutil.rmtree(small_store, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "semtwin", "load", str(small.nquads), "--store",
                    str(small_store)], check=True, capture_output=True)
    mix_small = queries(small.spec.buildings)
    minimal = minimal_server(store_copy(small_store, work / "minimal-small"),
                             work / "minimal-small.log")
    servers = [semtwin_server(small_store, work / "semtwin-small.log"),
               rdflib_endpoint_server(small.turtle, work / "rdflib-small.log"), minimal]
    try:
        for server in servers:
            server.start()
        report["agreement_small"] = check_agreement(servers, mix_small)
        report["small"] = time_mix(servers, mix_small, seconds, min(connections, 4),
                                   (minimal,))
        report["peak_rss_mb_small"] = {s.name: s.peak_rss_mb() for s in servers}
    finally:
        for server in servers:
            server.stop()
    return report


def _ceiling(row: dict[str, Any], peer: str) -> str:
    minimal = row.get("minimal ASGI")
    if minimal is None:
        return "–"
    ratio = minimal["requests_per_s"] / max(row[peer]["requests_per_s"], 1e-9)
    return f"{minimal['requests_per_s']:,.0f} ({ratio:.2f}×)"


def _rate(per_s: float) -> str:
    return f"{per_s:,.0f}" if per_s >= 10 else f"{per_s:.1f}"


def to_markdown(report: dict[str, Any]) -> str:
    lines = [f"Big graph {report['big_quads']:,} quads; small graph {report['small_quads']:,} "
             f"quads; wrk {report['seconds']} s per cell.", "",
             "| query | class | semtwin q/s | oxigraph serve q/s | ratio | target | "
             "semtwin p99 ms | oxigraph p99 ms | minimal ASGI q/s (÷ oxigraph) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, row in report["big"].items():
        ours, peer = row["semtwin"], row["oxigraph serve"]
        ratio = ours["requests_per_s"] / max(peer["requests_per_s"], 1e-9)
        target = 0.9 if row["weight"] == "heavy" else 0.5
        lines.append(f"| {name} | {row['weight']} | {ours['requests_per_s']:,.0f} | "
                     f"{peer['requests_per_s']:,.0f} | {ratio:.2f}× | ≥ {target}× "
                     f"{'✅' if ratio >= target else '❌'} | {ours['p99_ms']:.1f} | "
                     f"{peer['p99_ms']:.1f} | {_ceiling(row, 'oxigraph serve')} |")
    iso = report.get("isolation")
    if iso:
        base = report["big"]["point lookup"]["semtwin"]
        during = iso["during"]
        lines += ["", "| semtwin point lookup | q/s | p50 ms | p99 ms |", "|---|---|---|---|",
                  f"| alone | {base['requests_per_s']:,.0f} | {base['p50_ms']:.1f} | "
                  f"{base['p99_ms']:.1f} |",
                  f"| while 2 runaway queries run ({iso['runaways_running_throughout']} still "
                  f"running at the end; they answered {iso['runaway_statuses']}) | "
                  f"{during['requests_per_s']:,.0f} | {during['p50_ms']:.1f} | "
                  f"{during['p99_ms']:.1f} |"]
    lines += ["", "| query (small graph) | semtwin q/s | rdflib-endpoint q/s | ratio | target | "
              "minimal ASGI q/s (÷ rdflib-endpoint) |", "|---|---|---|---|---|---|"]
    for name, row in report["small"].items():
        ours, peer = row["semtwin"], row["rdflib-endpoint"]
        ratio = ours["requests_per_s"] / max(peer["requests_per_s"], 1e-9)
        lines.append(f"| {name} | {ours['requests_per_s']:,.0f} | "
                     f"{peer['requests_per_s']:,.1f} | {ratio:,.0f}× | ≥ 20× "
                     f"{'✅' if ratio >= 20 else '❌'} | {_ceiling(row, 'rdflib-endpoint')} |")
    remote = report.get("remote", {})
    if remote:
        lines += ["", f"| query (big graph, {report['connections']} connections) | remote store "
                  "| embedded q/s | remote, 1 process q/s | remote, 2 processes q/s | remote ÷ "
                  "embedded | second process |", "|---|---|---|---|---|---|---|"]
        for name in report["big"]:
            base = remote["embedded, 1 process"][name]
            for backend in REMOTE_BACKENDS:
                if f"remote {backend}, 1 process" not in remote:
                    continue
                one = remote[f"remote {backend}, 1 process"][name]
                two = remote[f"remote {backend}, 2 processes"][name]
                hop = one / base if base else float("nan")
                scale = two / one if one else float("nan")
                lines.append(f"| {name} | {backend} server | {_rate(base)} | {_rate(one)} | "
                             f"{_rate(two)} | {hop:.2f}× | {scale:.2f}× |")
        for backend, rate in remote.get("load_quads_per_s", {}).items():
            lines.append(f"\nLoad into {backend} server for this table: {rate:,.0f} quads/s.")
    lines += ["", "| load (big graph) | quads/s | vs raw bulk_load |", "|---|---|---|"]
    raw = report["load"]["pyoxigraph bulk_load"]
    for name, rate in report["load"].items():
        lines.append(f"| {name} | {rate:,.0f} | {rate / raw:.2f}× |")
    lines += ["", "| peak RSS (MB) | big graph | small graph |", "|---|---|---|"]
    for name in report["peak_rss_mb_big"] | report["peak_rss_mb_small"]:
        big = report["peak_rss_mb_big"].get(name)
        small = report["peak_rss_mb_small"].get(name)
        lines.append(f"| {name} | {f'{big:,.0f}' if big else '–'} | "
                     f"{f'{small:,.0f}' if small else '–'} |")
    return "\n".join(lines)
