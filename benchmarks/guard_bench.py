"""``python -m benchmarks guard``: what the engine-side deadline guard costs and how soon it
stops a runaway query (ADR 0002), with and without the join-level guard, in one run.

- cost: median time of typical query shapes over 100,000 twins (400,000 quads, on disk),
  guarded as shipped against guarded at the scans only, alternated;
- stop: a three-way cross product over 1,500 triples with a 2 s deadline, in a child process
  per run: the seconds from the deadline to the engine's first look at it (when the server
  parks the query's thread and its CPU use ends). Runs that had not seen it after
  ``--stop-cap`` seconds count as that cap.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from semtwin.deadline import Deadline
from semtwin.rdf import DefaultGraph, Literal, NamedNode, Quad
from semtwin.store.embedded import EmbeddedStore

EX = "http://bench.semtwin.dev/"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
XSD_INT = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
TWINS = 100_000
SHAPES = {
    "point look-up": f"SELECT ?p ?o WHERE {{ <{EX}t42> ?p ?o }}",
    "2-hop join (10k rows)": f"SELECT ?a ?c WHERE {{ ?a <{EX}feeds> ?b . ?b <{EX}feeds> ?c . "
                             f"?a a <{EX}C3> }}",
    "label scan with FILTER": f'SELECT ?s WHERE {{ ?s <{LABEL.value}> ?l '
                              f'FILTER(CONTAINS(?l, "999")) }}',
    "GROUP BY over 200k rows": f"SELECT ?c (AVG(?v) AS ?m) WHERE {{ ?s a ?c ; <{EX}v> ?v }} "
                               f"GROUP BY ?c",
}
CROSS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
_CHILD = """
import sys, time, os
from pathlib import Path
from semtwin.deadline import Deadline
from semtwin.store.embedded import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
store.join_guard = sys.argv[2] == "on"
deadline = Deadline(float(sys.argv[3]))
def seen() -> None:
    print(time.monotonic() - deadline.at, flush=True)
    os._exit(0)
deadline.on_engine_expired = seen
store.query(sys.argv[4], deadline=deadline)
print("finished", flush=True)
"""


def _twin_store(path: Path) -> EmbeddedStore:
    shutil.rmtree(path, ignore_errors=True)
    store = EmbeddedStore(path)
    graph = NamedNode(EX + "g")
    quads: list[Quad] = []
    for i in range(TWINS):
        twin = NamedNode(f"{EX}t{i}")
        quads += [Quad(twin, RDF_TYPE, NamedNode(f"{EX}C{i % 10}"), graph),
                  Quad(twin, LABEL, Literal(f"twin {i}"), graph),
                  Quad(twin, NamedNode(EX + "feeds"), NamedNode(f"{EX}t{(i * 7) % TWINS}"),
                       graph),
                  Quad(twin, NamedNode(EX + "v"), Literal(str(i % 97), datatype=XSD_INT),
                       graph)]
    store.add_quads(quads)
    return store


def _median_ms(store: EmbeddedStore, query: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = store.query(query, deadline=Deadline(600))
        for _row in getattr(result, "rows", ()):
            pass
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure_cost(work: Path, rounds: int = 3) -> dict[str, Any]:
    store = _twin_store(work / "guard-cost")
    rows: dict[str, Any] = {}
    for name, query in SHAPES.items():
        runs = 300 if name == "point look-up" else 7
        with_join, scans_only = [], []
        for _ in range(rounds):  # alternated: the machine's speed drifts
            for flag, into in ((False, scans_only), (True, with_join)):
                store.join_guard = flag
                into.append(_median_ms(store, query, runs))
        rows[name] = {"scans_only_ms": min(scans_only), "with_join_guard_ms": min(with_join),
                      "ratio": min(with_join) / min(scans_only)}
    store.close()
    return rows


def measure_stop(work: Path, runs: int, cap: float) -> dict[str, Any]:
    path = work / "guard-stop"
    shutil.rmtree(path, ignore_errors=True)
    store = EmbeddedStore(path)
    store.add_quads([Quad(NamedNode(f"{EX}s{i}"), NamedNode(f"{EX}p{i % 7}"),
                          Literal(f"value {i}"), DefaultGraph()) for i in range(1500)])
    store.close()
    report: dict[str, Any] = {}
    for mode in ("off", "on"):
        late: list[float] = []
        for _ in range(runs):
            try:
                out = subprocess.run([sys.executable, "-c", _CHILD, str(path), mode, "2", CROSS],
                                     capture_output=True, text=True, timeout=2 + cap)
                late.append(min(float(out.stdout.split()[0]), cap))
            except subprocess.TimeoutExpired:
                late.append(cap)
        key = "with_join_guard" if mode == "on" else "scans_only"
        report[key] = {"late_s": late, "median_s": statistics.median(late), "max_s": max(late)}
    return report


def run(work: Path, stop_runs: int = 5, cap: float = 30.0) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    return {"date": time.strftime("%Y-%m-%d"), "cost": measure_cost(work),
            "stop": measure_stop(work, stop_runs, cap), "cap_s": cap}


def to_markdown(report: dict[str, Any]) -> str:
    lines = [f"Deadline guard ({report['date']})", "",
             "| query over 100k twins | scans only | with the join guard | ratio |",
             "|---|---|---|---|"]
    for name, row in report["cost"].items():
        lines.append(f"| {name} | {row['scans_only_ms']:.3f} ms | "
                     f"{row['with_join_guard_ms']:.3f} ms | {row['ratio']:.2f}× |")
    lines += ["", "| runaway cross product, 2 s deadline | seen after the deadline: median | "
              "max | runs |", "|---|---|---|---|"]
    for key, label in (("scans_only", "scans only"), ("with_join_guard", "with the join guard")):
        row = report["stop"][key]
        lines.append(f"| {label} | {row['median_s']:.2f} s | {row['max_s']:.2f} s "
                     f"(cap {report['cap_s']:g} s) | {len(row['late_s'])} |")
    return "\n".join(lines)
