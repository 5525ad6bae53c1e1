"""SHACL validation: semtwin's engine against pyshacl (on an rdflib Graph), side by side.

``python -m benchmarks validation [--sizes 100000,1000000] [--pyshacl-timeout 1200]``

- Full validation of generated Brick campus graphs (``semtwin.demo``) plus the Brick 1.4
  ontology, against the Brick 1.4 shapes (shipped in the ``brickschema`` package; its three
  SHACL-SPARQL constraints are removed for both engines: this comparison is about SHACL
  Core) and semtwin's core shapes. semtwin
  validates in memory (``semtwin validate``) and over the on-disk store
  (``semtwin validate --store``); pyshacl validates an rdflib Graph.
  Result sets (focus node, component, path, shape) are compared where both finish.
- Per-write validation as the store grows: twin writes through the pipeline of an on-disk
  store with the Brick model active; the validation step and the whole write, p50 and p99
  (``--parts writes``), and the same with Brick's SHACL-SPARQL constraints kept
  (``--parts writes-sparql``).
- REST twin writes per second through the real server with the Brick model active (wrk).

Each cell runs in its own process so its peak memory is its own, and pyshacl gets a time
budget. Numbers land in ``benchmarks/results/validation.json`` and docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Any

import brickschema

from semtwin.demo.generator import BuildingSpec, generate_building_graph
from semtwin.rdf import BlankNode, NamedNode, RdfFormat, Triple, parse, serialize

BRICK_TTL = Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"
CORE_SHAPES = Path(__file__).resolve().parents[1] / "shapes" / "semtwin-core.ttl"
SH_SPARQL = NamedNode("http://www.w3.org/ns/shacl#sparql")
OWL_IMPORTS = NamedNode("http://www.w3.org/2002/07/owl#imports")
QUADS_PER_BUILDING = 25_600


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU time of this process so far, all its threads (user and system): unlike the wall
    time, other load on the machine does not lengthen it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sparql_shapes(work: Path) -> Path:
    """Brick 1.4's shapes with its own SHACL-SPARQL constraints (deprecated classes,
    timeseries references, virtual meters) and semtwin's core shapes."""
    return _shapes_file(work / "brick-1.4-core-shapes-sparql.nt", keep_sparql=True)


def _shapes_file(path: Path, keep_sparql: bool) -> Path:
    if not path.exists():
        # Brick's owl:imports (QUDT, dash, REC, ...) are not shipped in the package: the
        # model is uploaded without them, as a server with no network would need it.
        dropped = (OWL_IMPORTS,) if keep_sparql else (SH_SPARQL, OWL_IMPORTS)
        brick = [t for t in parse(path=str(BRICK_TTL), format=RdfFormat.TURTLE)
                 if t.predicate not in dropped]
        core = list(parse(path=str(CORE_SHAPES), format=RdfFormat.TURTLE))
        path.write_bytes(serialize([Triple(q.subject, q.predicate, q.object)
                                    for q in [*brick, *core]], format=RdfFormat.N_TRIPLES)
                         or b"")
    return path


def prepare(work: Path, size: int) -> tuple[Path, Path, int]:
    """(data N-Triples, shapes N-Triples, triples in data) for a target size. The shapes
    are Brick 1.4's without its three SHACL-SPARQL constraints (the full-validation
    comparison is about SHACL Core) and semtwin's core shapes."""
    work.mkdir(parents=True, exist_ok=True)
    shapes = _shapes_file(work / "brick-1.4-core-shapes.nt", keep_sparql=False)
    buildings = max(1, round(size / QUADS_PER_BUILDING))
    data = work / f"campus-{buildings}.nt"
    if not data.exists():
        triples = {Triple(q.subject, q.predicate, q.object) for q in generate_building_graph(
            BuildingSpec(buildings=buildings, floors=20, rooms_per_floor=20,
                         equipment_per_room=4))}
        ontology = {Triple(q.subject, q.predicate, q.object)
                    for q in parse(path=str(BRICK_TTL), format=RdfFormat.TURTLE)}
        data.write_bytes(serialize(sorted(triples | ontology, key=str),
                                   format=RdfFormat.N_TRIPLES) or b"")
    count = sum(1 for _ in data.open("rb"))
    return data, shapes, count


def _key(focus: str, component: str, path: str, shape: str) -> str:
    return "\t".join((focus, component.rsplit("#", 1)[-1], path, shape))


# --- cells (each in its own process) -----------------------------------------------------
def cell_semtwin(data: Path, shapes: Path, keys_out: Path, store_dir: str | None) -> dict[str, Any]:
    from semtwin.shacl import MemoryGraph, ShapesGraph, Validator

    started = time.perf_counter()
    shapes_graph = ShapesGraph(MemoryGraph(parse(path=str(shapes),
                                                 format=RdfFormat.N_TRIPLES)))
    if store_dir is None:
        view: Any = MemoryGraph(parse(path=str(data), format=RdfFormat.N_TRIPLES))
        loaded = time.perf_counter()
    else:
        from semtwin.services.governance import data_view
        from semtwin.store.embedded import EmbeddedStore

        store = EmbeddedStore(Path(store_dir))
        if store.count() == 0:
            with data.open("rb") as stream:
                store.bulk_load(stream, RdfFormat.N_TRIPLES)
        view = data_view(store)
        loaded = time.perf_counter()
    cpu = _cpu_s()
    report = Validator(shapes_graph, view).validate_all()
    done = time.perf_counter()
    cpu = _cpu_s() - cpu
    keys = {_key(_show(r.focus), r.component.value, _show(r.path_node), _show(r.shape))
            for r in report.results}
    keys_out.write_text("\n".join(sorted(keys)))
    return {"load_s": loaded - started, "validate_s": done - loaded, "validate_cpu_s": cpu,
            "results": len(report.results), "focus_nodes": report.focus_nodes,
            "peak_mb": _peak_mb()}


def cell_pyshacl(data: Path, shapes: Path, keys_out: Path) -> dict[str, Any]:
    import pyshacl
    import rdflib

    started = time.perf_counter()
    data_graph = rdflib.Graph().parse(str(data), format="nt")
    shapes_graph = rdflib.Graph().parse(str(shapes), format="nt")
    loaded = time.perf_counter()
    cpu = _cpu_s()
    _conforms, results, _text = pyshacl.validate(data_graph, shacl_graph=shapes_graph,
                                                 inference="none", advanced=False)
    done = time.perf_counter()
    cpu = _cpu_s() - cpu
    sh = rdflib.SH
    keys = set()
    count = 0
    for r in results.objects(None, sh.result):
        count += 1
        keys.add(_key(_rdflib_show(results.value(r, sh.focusNode)),
                      str(results.value(r, sh.sourceConstraintComponent)),
                      _rdflib_show(results.value(r, sh.resultPath)),
                      _rdflib_show(results.value(r, sh.sourceShape))))
    keys_out.write_text("\n".join(sorted(keys)))
    return {"load_s": loaded - started, "validate_s": done - loaded, "validate_cpu_s": cpu,
            "results": count, "peak_mb": _peak_mb()}


def _show(term: object) -> str:
    if term is None:
        return "-"
    if isinstance(term, BlankNode):
        return "_"
    return str(getattr(term, "value", term))


def _rdflib_show(term: object) -> str:
    import rdflib

    if term is None:
        return "-"
    if isinstance(term, rdflib.BNode):
        return "_"
    return str(term)


def cell_writes(data: Path, shapes: Path, store_dir: str, writes: int) -> dict[str, Any]:
    """Twin writes through the pipeline with the Brick model active on an on-disk store."""
    from semtwin.runtime import Semtwin
    from semtwin.settings import Settings

    settings = Settings.from_env(store=store_dir)
    runtime = Semtwin.open(settings)
    if runtime.store.count() == 0:
        with data.open("rb") as stream:
            runtime.store.bulk_load(stream, RdfFormat.N_TRIPLES)
    runtime.models.ensure_core()
    started = time.perf_counter()
    record = runtime.models.upload(shapes.read_bytes(), RdfFormat.N_TRIPLES,
                                   iri="https://brickschema.org/schema/1.4/Brick",
                                   version=f"1.4-core-{time.time_ns()}")
    impact = runtime.models.set_status(record.iri, record.version, "active", force=True,
                                       reason="benchmark")
    activation_s = time.perf_counter() - started
    # each write adds a point to a different VAV, so every write has the same work and only
    # the store grows (one VAV for all writes would grow a hub whose inverse isPointOf walk
    # gets longer with every write: that measured the hub, not the store)
    vavs = [q.subject for q in islice(runtime.store.quads(None, NamedNode(
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        NamedNode("https://brickschema.org/schema/Brick#VAV"), None), writes)]
    check = runtime.pipeline.check
    assert check is not None
    validation: list[float] = []

    def timed(changeset: Any) -> None:
        began = time.perf_counter()
        try:
            check(changeset)
        finally:
            validation.append(time.perf_counter() - began)

    runtime.pipeline.check = timed
    totals: list[float] = []
    for i in range(writes):
        began = time.perf_counter()
        runtime.twins.put(f"bench-point-{time.time_ns()}-{i}", {
            "$types": ["brick:Zone_Air_Temperature_Sensor"],
            "properties": {"rdfs:label": f"Zone temperature {i}",
                           "brick:isPointOf": {"@id": vavs[i % len(vavs)].value}}})  # type: ignore[union-attr]
        totals.append(time.perf_counter() - began)
    runtime.close()
    return {"activation_s": activation_s, "activation_violations":
            impact.get("impact", {}).get("violations"),
            "validate_p50_ms": _pct(validation, 50), "validate_p99_ms": _pct(validation, 99),
            "write_p50_ms": _pct(totals, 50), "write_p99_ms": _pct(totals, 99),
            "writes_per_s_one_thread": writes / sum(totals), "peak_mb": _peak_mb()}


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


# --- the run -----------------------------------------------------------------------------
def _run_cell(args: list[str], timeout: float | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.validation_bench", *args]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                             check=True).stdout
    except subprocess.TimeoutExpired:
        return {"timeout_s": timeout}
    except subprocess.CalledProcessError as error:
        return {"error": error.stderr[-2000:]}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _rest_writes(store_dir: str, seconds: int, connections: int) -> dict[str, Any]:
    from benchmarks._servers import semtwin_server
    from benchmarks._wrk import new_ids, wrk_available

    if not wrk_available():
        return {"skipped": "wrk is not installed"}
    work = Path(store_dir).parent
    server = semtwin_server(Path(store_dir), work / "rest-writes.log").start()
    script = work / "put-twins.lua"
    script.write_text(new_ids(_PUT_SCRIPT))
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s",
             "-s", str(script), f"http://127.0.0.1:{server.port}"],
            capture_output=True, text=True, check=True).stdout
    finally:
        server.stop()
    from benchmarks._wrk import parse_wrk, require_created

    require_created(out)
    parsed = parse_wrk(out)
    return {"writes_per_s": parsed.requests_per_s, "p50_ms": parsed.p50_ms,
            "p99_ms": parsed.p99_ms, "errors": parsed.errors, "connections": connections}


_PUT_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local id = NEW_ID("rest", counter)
  local body = '{"$types": ["brick:Zone_Air_Temperature_Sensor"], ' ..
    '"properties": {"rdfs:label": "Zone temperature ' .. counter .. '"}}'
  return wrk.format("PUT", "/api/v1/twins/" .. id,
    {["Content-Type"] = "application/json"}, body)
end
"""


def run(work: Path, sizes: list[int], pyshacl_timeout: float, writes: int,
        rest_seconds: int, parts: tuple[str, ...] = ("full", "writes"),
        previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """``parts``: ``full`` (full validation against pyshacl), ``writes`` and/or
    ``writes-sparql``; a part not run keeps its numbers from ``previous`` (the last saved
    report)."""
    report: dict[str, Any] = {"sizes": [], "pyshacl_timeout_s": pyshacl_timeout}
    earlier = {row["target"]: row for row in (previous or {}).get("sizes", [])}
    for size in sizes:
        data, shapes, triples = prepare(work, size)
        rerun = {key for part, keys in _PART_KEYS.items() if part in parts for key in keys}
        row: dict[str, Any] = {k: v for k, v in earlier.get(size, {}).items()
                               if k not in rerun} | {"target": size, "triples": triples}
        if "full" in parts:
            _run_full(work, row, triples, data, shapes, pyshacl_timeout)
        if "writes" in parts:
            _run_writes(work, row, triples, data, shapes, writes, rest_seconds,
                        size == max(sizes))
        if "writes-sparql" in parts:
            _run_sparql_writes(work, row, triples, data, writes)
        report["sizes"].append(row)
        print(json.dumps(row), file=sys.stderr)
    # sizes not run this time keep their saved rows
    report["sizes"] += [row for size, row in earlier.items() if size not in sizes]
    report["sizes"].sort(key=lambda row: row["target"])
    return report


_PART_KEYS = {
    "full": ("semtwin_memory", "semtwin_store", "pyshacl", "identical_results", "only_semtwin",
             "only_pyshacl", "speedup_memory", "speedup_store", "store_equals_memory"),
    "writes": ("writes", "rest_writes"),
    "writes-sparql": ("writes_sparql",),
}
"""The report keys each part writes (a part run drops its earlier numbers first)."""


def _run_full(work: Path, row: dict[str, Any], triples: int, data: Path, shapes: Path,
              pyshacl_timeout: float) -> None:
    """Full validation: semtwin in memory and over the store, pyshacl; results compared."""
    keys = {name: work / f"keys-{name}-{triples}.txt"
            for name in ("memory", "store", "pyshacl")}
    store_dir = work / f"store-{triples}"
    row["semtwin_memory"] = _run_cell(
        ["cell", "semtwin", str(data), str(shapes), str(keys["memory"])], None)
    row["semtwin_store"] = _run_cell(
        ["cell", "semtwin", str(data), str(shapes), str(keys["store"]), str(store_dir)],
        None)
    row["pyshacl"] = _run_cell(["cell", "pyshacl", str(data), str(shapes),
                                str(keys["pyshacl"])], pyshacl_timeout)
    ours = set(keys["memory"].read_text().splitlines()) if keys["memory"].exists() else None
    mine_store = (set(keys["store"].read_text().splitlines()) if keys["store"].exists()
                  else None)
    if "validate_s" in row["pyshacl"] and ours is not None:
        theirs = set(keys["pyshacl"].read_text().splitlines())
        row["identical_results"] = ours == theirs
        row["only_semtwin"] = sorted(ours - theirs)[:5]
        row["only_pyshacl"] = sorted(theirs - ours)[:5]
        row["speedup_memory"] = (row["pyshacl"]["validate_s"]
                                 / row["semtwin_memory"]["validate_s"])
        row["speedup_store"] = (row["pyshacl"]["validate_s"]
                                / row["semtwin_store"]["validate_s"])
    row["store_equals_memory"] = ours == mine_store


def _run_writes(work: Path, row: dict[str, Any], triples: int, data: Path, shapes: Path,
                writes: int, rest_seconds: int, largest: bool) -> None:
    row["writes"] = _writes_cell(work / f"writes-{triples}", data, shapes, writes)
    if rest_seconds and largest:
        row["rest_writes"] = _rest_writes(str(work / f"writes-{triples}"), rest_seconds, 8)


def _run_sparql_writes(work: Path, row: dict[str, Any], triples: int, data: Path,
                       writes: int) -> None:
    """The same writes with Brick's SHACL-SPARQL constraints active as well (each write's
    new point is checked by the deprecated-class query on its footprint)."""
    row["writes_sparql"] = _writes_cell(work / f"writes-sparql-{triples}", data,
                                        sparql_shapes(work), writes)


def _writes_cell(store: Path, data: Path, shapes: Path, writes: int) -> dict[str, Any]:
    """The per-write cell on a fresh store directory."""
    shutil.rmtree(store, ignore_errors=True)
    return _run_cell(["cell", "writes", str(data), str(shapes), str(store), str(writes)], None)


def to_markdown(report: dict[str, Any]) -> str:
    lines = ["| triples | semtwin in memory | semtwin on the store | pyshacl | ratio "
             "(memory / store) | identical results | results |",
             "|---|---|---|---|---|---|---|"]
    for row in report["sizes"]:
        py = row["pyshacl"]
        py_text = (f"{py['validate_s']:.1f} s ({py['peak_mb']:.0f} MB)" if "validate_s" in py
                   else f"> {py.get('timeout_s', '?')} s" if "timeout_s" in py else "error")
        mem, store = row["semtwin_memory"], row["semtwin_store"]
        ratio = (f"{row['speedup_memory']:.0f}× / {row['speedup_store']:.0f}×"
                 if "speedup_memory" in row else "—")
        lines.append(
            f"| {row['triples']:,} | {mem['validate_s']:.1f} s ({mem['peak_mb']:.0f} MB) | "
            f"{store['validate_s']:.1f} s ({store['peak_mb']:.0f} MB) | {py_text} | {ratio} | "
            f"{row.get('identical_results', '—')} | {mem['results']} |")
    lines += ["", "| triples | activation (full impact) | validation p50 / p99 | "
              "write p50 / p99 | writes/s (one thread) |", "|---|---|---|---|---|"]
    for row in report["sizes"]:
        for key, label in (("writes", ""), ("writes_sparql", " + Brick SHACL-SPARQL")):
            if key not in row:
                continue  # the part was not run at this size
            w = row[key]
            if "error" in w:
                lines.append(f"| {row['triples']:,}{label} | error | | | |")
                continue
            lines.append(
                f"| {row['triples']:,}{label} | {w['activation_s']:.1f} s | "
                f"{w['validate_p50_ms']:.2f} / {w['validate_p99_ms']:.2f} ms | "
                f"{w['write_p50_ms']:.2f} / {w['write_p99_ms']:.2f} ms | "
                f"{w['writes_per_s_one_thread']:.0f} |")
    for row in report["sizes"]:
        if "rest_writes" in row:
            r = row["rest_writes"]
            lines += ["", f"REST twin PUTs with validation at {row['triples']:,} triples: "
                          f"{r.get('writes_per_s', 0):.0f}/s, p50 {r.get('p50_ms', 0):.1f} ms, "
                          f"p99 {r.get('p99_ms', 0):.1f} ms, {r.get('errors', 0)} errors "
                          f"({r.get('connections')} connections)"]
    return "\n".join(lines)


def main_cell(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "semtwin":
        result = cell_semtwin(Path(argv[1]), Path(argv[2]), Path(argv[3]),
                              argv[4] if len(argv) > 4 else None)
    elif kind == "pyshacl":
        result = cell_pyshacl(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    else:
        result = cell_writes(Path(argv[1]), Path(argv[2]), argv[3], int(argv[4]))
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1:2] == ["cell"]:
        os.environ.setdefault("SEMTWIN_LOG_JSON", "false")
        main_cell(sys.argv[2:])
