"""The twin API under load, at growing numbers of twins (the curve, not a point).

``python -m benchmarks twins [--twins 100000,1000000] [--seconds 10]``

A store is generated per size in the twin API's own layout (a graph per twin, ETags in the
metadata graph, one relationship per ten twins), bulk loaded, and served by a real
``semtwin serve`` process with its core shapes active (every write validated). wrk drives,
from a second process on loopback: GET a random twin by id, neighbours at depth 2, a type
listing page, creates (PUT of new twins) and PATCH with If-Match: the ETags of the twins to
patch are read first (GETs, untimed), then wrk sends each twin one merge patch with its ETag.
The ``ceiling`` part sends the same creates to ``benchmarks.minimal_server`` on a copy of the
store: the least a Python server over this store does per create (no validation, a one-quad
journal entry), to tell semtwin's own cost from the platform's; and again with the minimal
server writing what semtwin's pipeline writes for a create (its store layout), to tell the
cost of the layout from the cost of semtwin's code. Every create is checked to create (201):
ids are unique per run, wrk thread and request.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import json
import random
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks._servers import minimal_server, semtwin_server
from benchmarks._wrk import new_ids, parse_wrk, require_created, wrk_available
from semtwin.rdf import Literal, NamedNode, Quad, RdfFormat, serialize

BRICK = "https://brickschema.org/schema/Brick#"
ST = "https://semtwin.dev/ns#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
META = NamedNode("urn:semtwin:meta")
KINDS = ["VAV", "Air_Handling_Unit", "Fan_Coil_Unit", "Luminaire", "Electrical_Meter"]
CONNECTIONS = 16


def _twin_quads(i: int, n: int, rng: random.Random) -> list[Quad]:
    iri = NamedNode(f"urn:twin:t{i}")
    etag = Literal(uuid.UUID(int=rng.getrandbits(128)).hex)
    quads = [Quad(iri, RDF_TYPE, NamedNode(BRICK + KINDS[i % len(KINDS)]), iri),
             Quad(iri, LABEL, Literal(f"Twin {i}"), iri),
             Quad(iri, NamedNode("https://ex.org/serial"), Literal(f"SN-{i:08d}"), iri),
             Quad(iri, NamedNode("https://ex.org/power"), Literal(rng.randrange(1, 500)), iri),
             Quad(iri, NamedNode("https://ex.org/floor"), Literal(i % 40), iri),
             Quad(iri, NamedNode(ST + "etag"), etag, META),
             Quad(iri, NamedNode(ST + "updated"),
                  Literal("2026-11-25T00:00:00Z",
                          datatype=NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")),
                  META)]
    if i % 10 == 0:
        target = NamedNode(f"urn:twin:t{rng.randrange(n)}")
        rel = NamedNode(f"urn:twin:t{i}/relationships/feeds")
        feeds = NamedNode(BRICK + "feeds")
        quads += [Quad(iri, feeds, target, rel),
                  Quad(rel, RDF_TYPE, NamedNode(ST + "Relationship"), rel),
                  Quad(rel, NamedNode(ST + "source"), iri, rel),
                  Quad(rel, NamedNode(ST + "name"), feeds, rel),
                  Quad(rel, NamedNode(ST + "target"), target, rel),
                  Quad(rel, NamedNode(ST + "etag"), Literal(f"r{i}"), META)]
    return quads


def build_store(work: Path, twins: int) -> tuple[Path, int]:
    store = work / f"twins-{twins}"
    data = work / f"twins-{twins}.nq.gz"
    if not data.exists():
        rng = random.Random(7)
        with gzip.open(data, "wb", compresslevel=1) as out:
            batch: list[Quad] = []
            for i in range(twins):
                batch += _twin_quads(i, twins, rng)
                if len(batch) > 200_000:
                    out.write(serialize(batch, format=RdfFormat.N_QUADS) or b"")
                    batch = []
            out.write(serialize(batch, format=RdfFormat.N_QUADS) or b"")
    if not store.exists():
        from semtwin.store.embedded import EmbeddedStore

        embedded = EmbeddedStore(store)
        with gzip.open(data, "rb") as stream:
            embedded.bulk_load(stream, RdfFormat.N_QUADS)  # type: ignore[arg-type]
        embedded.compact()  # as `semtwin load` leaves it
        embedded.close()
    from semtwin.store.embedded import EmbeddedStore

    embedded = EmbeddedStore(store)
    quads = embedded.count()
    embedded.close()
    return store, quads


_LUA_GET = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format(PATH, math.random(0, N - 1)))
end
"""
_LUA_CREATE = """
counter = 0
request = function()
  counter = counter + 1
  local id = NEW_ID("new", counter)
  local body = '{"$types": ["brick:VAV"], "properties": {"rdfs:label": "New ' .. counter ..
    '", "https://ex.org/power": ' .. counter .. '}}'
  return wrk.format("PUT", "/api/v1/twins/" .. id, {["Content-Type"] = "application/json"}, body)
end
"""

# POST /api/v1/batch with BATCH new twins (the create above, BATCH at a time)
_LUA_BATCH = """
counter = 0
request = function()
  local ops = {}
  for i = 1, BATCH do
    counter = counter + 1
    local id = NEW_ID("batch", counter)
    ops[i] = '{"op": "put", "id": "' .. id .. '", "twin": {"$types": ["brick:VAV"], ' ..
      '"properties": {"rdfs:label": "New ' .. counter .. '", "https://ex.org/power": ' ..
      counter .. '}}}'
  end
  local body = '{"operations": [' .. table.concat(ops, ", ") .. ']}'
  return wrk.format("POST", "/api/v1/batch", {["Content-Type"] = "application/json"}, body)
end
"""


def _creates(url: str, seconds: int, work: Path) -> dict[str, Any]:
    """The create cell: ``PUT`` of twins new to the store, every one answered 201 (a 200 is
    a replace, which this cell must not time)."""
    return _wrk(url, new_ids(_LUA_CREATE), seconds, work, creates=True)


def _wrk(url: str, script: str, seconds: int, work: Path,
         connections: int = CONNECTIONS, *, creates: bool = False) -> dict[str, Any]:
    import subprocess

    path = work / f"bench-{uuid.uuid4().hex}.lua"
    path.write_text(script)
    try:
        out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}",
                              f"-d{seconds}s", "--latency",
                              "--timeout", "30s", "-s", str(path), url],
                             capture_output=True, text=True, check=True).stdout
    finally:
        path.unlink()
    parsed = parse_wrk(out)
    if creates:
        require_created(out)
    return {"per_s": parsed.requests_per_s, "p50_ms": parsed.p50_ms, "p99_ms": parsed.p99_ms,
            "errors": parsed.errors}


def _warm(store: Path) -> None:
    """Read the store's files once, so the OS page cache holds them as it would on a server
    that has been answering for a while (this machine's page cache is often dropped between
    runs: cold, random GETs on the 1M-twin store wait on the disk, 183-829/s)."""
    for path in store.rglob("*"):
        if path.is_file():
            with path.open("rb") as stream:
                while stream.read(1 << 24):
                    pass


def _idle(url: str, timeout: float = 120) -> None:
    """Wait until the server runs no request any more (a cell's slow requests, such as
    listing pages still running after wrk stopped, must not eat the next cell's time)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        workers = httpx.get(f"{url}/healthz", timeout=10).json()["workers"]
        if all(pool["running"] == 0 and pool["parked"] == 0 for pool in workers.values()):
            return
        time.sleep(0.5)


# PATCH with If-Match, each twin once: IDS and ETAGS are filled in; wrk's threads take
# alternate entries (THREADS of them), so no twin is patched twice (that would be a 412)
_LUA_PATCH = """
local started = 0
function setup(thread)
  thread:set("tid", started)
  started = started + 1
end
counter = 0
request = function()
  local i = (tid + THREADS * counter) % #IDS + 1
  counter = counter + 1
  return wrk.format("PATCH", "/api/v1/twins/" .. IDS[i], {
    ["Content-Type"] = "application/merge-patch+json", ["If-Match"] = ETAGS[i]},
    '{"properties": {"https://ex.org/power": 7}}')
end
"""


def _patches(base: str | list[str], twins: int, count: int, seconds: int,
             work: Path) -> dict[str, Any]:
    """PATCH with If-Match of ``count`` random twins (their ETags read first, untimed), driven
    by wrk like the other cells; with several bases (API processes), one wrk each on its own
    share of the twins and of the connections, run together."""
    bases = [base] if isinstance(base, str) else base
    ids = random.Random(11).sample(range(twins), min(twins, count))
    scripts = []
    for n, url in enumerate(bases):
        share = ids[n::len(bases)]
        with httpx.Client(base_url=url, timeout=30) as client:
            etags = [client.get(f"/api/v1/twins/t{i}").raise_for_status().headers["etag"]
                     for i in share]
        ids_lua = ", ".join(json.dumps(f"t{i}") for i in share)
        etags_lua = ", ".join(json.dumps(etag) for etag in etags)
        scripts.append(f"THREADS = {min(2, CONNECTIONS // len(bases))}\nIDS = {{{ids_lua}}}\n"
                       f"ETAGS = {{{etags_lua}}}\n" + _LUA_PATCH)
    with concurrent.futures.ThreadPoolExecutor(len(bases)) as pool:
        results = list(pool.map(lambda pair: _wrk(pair[0], pair[1], seconds, work,
                                                   CONNECTIONS // len(bases)),
                                zip(bases, scripts, strict=True)))
    return {"per_s": sum(r["per_s"] for r in results),
            "p50_ms": max(r["p50_ms"] for r in results),
            "p99_ms": max(r["p99_ms"] for r in results),
            "errors": sum(r["errors"] for r in results), "twins_ready": len(ids)}


PARTS = ("get", "curve", "neighbors", "listing", "patch", "create", "batch", "ceiling",
         "remote")
BATCH = 50
CURVE = (1, 2, 4, 8, 16, 32)


def run(work: Path, sizes: list[int], seconds: int, patches: int,
        parts: tuple[str, ...] = PARTS, saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measure the parts asked for; a part not run keeps its numbers from ``saved``."""
    if not wrk_available():
        raise SystemExit("wrk is needed (Debian package 'wrk'): apt-get install wrk")
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = dict(saved or {})
    report |= {"seconds": seconds, "connections": CONNECTIONS}
    rows = {row["twins"]: row for row in report.get("sizes", [])}
    for twins in sizes:
        store, quads = build_store(work, twins)
        _warm(store)
        server = semtwin_server(store, work / f"twins-{twins}.log").start()
        url = f"http://127.0.0.1:{server.port}"
        get_script = f'N = {twins}\nPATH = "/api/v1/twins/t%d"\n' + _LUA_GET
        try:
            row: dict[str, Any] = rows.get(twins, {}) | {"twins": twins, "quads": quads}
            httpx.get(f"{url}/api/v1/twins/t0")  # warm the process
            if "get" in parts:
                _wrk(url, get_script, 2, work)  # warm up, as every SPARQL benchmark cell does
                row["get"] = _wrk(url, get_script, seconds, work)
                _idle(url)
            if "curve" in parts:  # latency against load: one wrk per number of connections
                row["get_curve"] = [{"connections": c, **_wrk(url, get_script, seconds, work, c)}
                                    for c in CURVE]
                _idle(url)
            if "neighbors" in parts:
                row["neighbors_depth_2"] = _wrk(
                    url, f'N = {twins}\nPATH = "/api/v1/twins/t%d/neighbors?depth=2"\n'
                    + _LUA_GET, seconds, work)
                _idle(url)
            if "listing" in parts:
                began = time.perf_counter()  # the first listing builds the twin index
                httpx.get(f"{url}/api/v1/twins", params={"type": "brick:VAV", "limit": 1},
                          timeout=600).raise_for_status()
                row["listing_index_build_s"] = round(time.perf_counter() - began, 2)
                # each floor's first page reads the twins its filter holds for, which later
                # pages reuse (services/holders.py): timed one by one, before the wrk cell
                firsts = []
                for floor in range(40):
                    began = time.perf_counter()
                    httpx.get(f"{url}/api/v1/twins", params={
                        "type": "brick:VAV", "limit": 100,
                        "where": f"https://ex.org/floor eq {floor}"},
                        timeout=600).raise_for_status()
                    firsts.append((time.perf_counter() - began) * 1000)
                row["listing_first_page"] = {"p50_ms": round(statistics.median(firsts), 1),
                                             "max_ms": round(max(firsts), 1)}
                row["listing_page"] = _wrk(
                    url, 'N = 40\nPATH = "/api/v1/twins?type=brick:VAV&limit=100'
                         '&where=https://ex.org/floor%%20eq%%20%d"\n' + _LUA_GET, seconds, work)
                _idle(url)
            if "patch" in parts:
                row["patch_if_match"] = _patches(url, twins, patches, seconds, work)
                _idle(url)
            if "create" in parts:
                row["create"] = _creates(url, seconds, work)
                _idle(url)
            if "batch" in parts:
                batch = _wrk(url, new_ids(f"BATCH = {BATCH}\n" + _LUA_BATCH), seconds, work)
                row["batch_create"] = batch | {"twins_per_batch": BATCH,
                                               "twins_per_s": batch["per_s"] * BATCH}
        finally:
            server.stop()
        if "ceiling" in parts:
            row["create_ceiling"] = _ceiling(store, work, seconds)
            row["create_ceiling_layout"] = _ceiling(store, work, seconds, layout=True)
        rows[twins] = row
    report["sizes"] = [rows[t] for t in sorted(rows)]
    if "remote" in parts:
        report["remote"] = [run_remote(work, min(sizes), seconds, patches, backend)
                            for backend in ("oxigraph", "virtuoso")]
    return report


def _ceiling(store: Path, work: Path, seconds: int, *, layout: bool = False
             ) -> dict[str, Any]:
    """Creates against the minimal server on a checkpoint copy of the store (``layout``:
    writing what semtwin's pipeline writes for a create)."""
    import shutil

    from benchmarks.sparql_bench import store_copy

    copy = store_copy(store, work / "minimal-twins")
    minimal = minimal_server(copy, work / "minimal-twins.log", layout=layout).start()
    try:
        url = f"http://127.0.0.1:{minimal.port}"
        _creates(url, 2, work)  # warm up
        return _creates(url, seconds, work)
    finally:
        minimal.stop()
        shutil.rmtree(copy, ignore_errors=True)


def run_remote(work: Path, twins: int, seconds: int, patches: int,
               backend: str = "oxigraph") -> dict[str, Any]:
    """GET and PATCH over a remote store (Oxigraph server, or a throwaway Virtuoso) with one
    and two API processes sharing a write lock."""
    import contextlib
    import shutil

    from benchmarks._servers import Server, loaded_remote_store

    build_store(work, twins)
    data = work / f"twins-{twins}.nq"
    if not data.exists():
        with gzip.open(work / f"twins-{twins}.nq.gz", "rb") as src, data.open("wb") as target:
            shutil.copyfileobj(src, target)
    cleanup = contextlib.ExitStack()
    location, load_s = cleanup.enter_context(loaded_remote_store(work, data, backend))
    get_script = f'N = {twins}\nPATH = "/api/v1/twins/t%d"\n' + _LUA_GET
    out: dict[str, Any] = {"twins": twins, "backend": backend, "load_s": round(load_s, 1)}
    apis: list[Server] = []
    try:
        for i in range(2):
            api = semtwin_server(work / f"unused-{i}", work / f"twins-remote-{i}.log")
            api.command[api.command.index("--store") + 1] = location
            api.env["SEMTWIN_WRITE_LOCK"] = str(work / "twins-remote.lock")
            apis.append(api.start())
        urls = [f"http://127.0.0.1:{api.port}" for api in apis]
        for url in urls:
            httpx.get(f"{url}/api/v1/twins/t0")
        out["get_1"] = _wrk(urls[0], get_script, seconds, work)
        _idle(urls[0])
        out["patch_1"] = _patches(urls[0], twins, patches, seconds, work)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            both = list(pool.map(lambda u: _wrk(u, get_script, seconds, work,
                                                CONNECTIONS // 2), urls))
        out["get_2"] = {"per_s": sum(r["per_s"] for r in both),
                        "p50_ms": max(r["p50_ms"] for r in both),
                        "p99_ms": max(r["p99_ms"] for r in both),
                        "errors": sum(r["errors"] for r in both)}
        for url in urls:
            _idle(url)
        out["patch_2"] = _patches(urls, twins, patches, seconds, work)
    finally:
        for api in apis:
            api.stop()
        cleanup.close()
    return out


def to_markdown(report: dict[str, Any]) -> str:
    lines = ["| twins (quads) | GET by id | neighbours depth 2 | listing page (100, filtered) "
             "| PATCH with If-Match | create (PUT) |", "|---|---|---|---|---|---|"]
    for row in report["sizes"]:
        cells = []
        for key in ("get", "neighbors_depth_2", "listing_page", "patch_if_match", "create"):
            r = row[key]
            cells.append(f"{r['per_s']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, "
                         f"p99 {r['p99_ms']:.1f} ms")
        lines.append(f"| {row['twins']:,} ({row['quads']:,}) | " + " | ".join(cells) + " |")
    curves = [row for row in report["sizes"] if "get_curve" in row]
    if curves:
        lines += ["", "| GET by id, connections | " + " | ".join(
            f"{row['twins']:,} twins: req/s, p50, p99" for row in curves) + " |",
            "|---" * (len(curves) + 1) + "|"]
        for i, connections in enumerate(c["connections"] for c in curves[0]["get_curve"]):
            lines.append(f"| {connections} | " + " | ".join(
                f"{row['get_curve'][i]['per_s']:,.0f}/s, {row['get_curve'][i]['p50_ms']:.2f} "
                f"ms, {row['get_curve'][i]['p99_ms']:.2f} ms" for row in curves) + " |")
    batches = [row for row in report["sizes"] if "batch_create" in row]
    if batches:
        lines += ["", "| twins | create, one per request | create, "
                  f"{batches[0]['batch_create']['twins_per_batch']} per POST /api/v1/batch |",
                  "|---|---|---|"]
        lines += [f"| {row['twins']:,} | {row['create']['per_s']:,.0f} twins/s | "
                  f"{row['batch_create']['twins_per_s']:,.0f} twins/s "
                  f"({row['batch_create']['per_s']:,.1f} batches/s, p50 "
                  f"{row['batch_create']['p50_ms']:.0f} ms, p99 "
                  f"{row['batch_create']['p99_ms']:.0f} ms) |" for row in batches]
    ceilings = [row for row in report["sizes"] if "create_ceiling" in row and "create" in row]
    if ceilings:
        lines += ["", "| twins | create, semtwin | minimal server (ceiling) | ratio | minimal "
                  "server, semtwin's layout | ratio |", "|---|---|---|---|---|---|"]
        for row in ceilings:
            create, ceiling = row["create"], row["create_ceiling"]
            layout = row.get("create_ceiling_layout")
            lines.append(
                f"| {row['twins']:,} | {create['per_s']:,.0f}/s, p99 {create['p99_ms']:.1f} ms "
                f"| {ceiling['per_s']:,.0f}/s, p99 {ceiling['p99_ms']:.1f} ms | "
                f"{create['per_s'] / ceiling['per_s']:.2f}x | " + (
                    f"{layout['per_s']:,.0f}/s, p99 {layout['p99_ms']:.1f} ms | "
                    f"{create['per_s'] / layout['per_s']:.2f}x |" if layout else "– | – |"))
    lines.append("")
    lines += [f"Twin index built by the first listing: {row.get('listing_index_build_s')} s at "
              f"{row['twins']:,} twins." for row in report["sizes"]]
    lines += [f"First filtered page of each of the 40 floors at {row['twins']:,} twins: p50 "
              f"{row['listing_first_page']['p50_ms']} ms, slowest "
              f"{row['listing_first_page']['max_ms']} ms." for row in report["sizes"]
              if "listing_first_page" in row]
    remotes = [r for r in report.get("remote", []) if "get_1" in r]
    if remotes:
        twins = remotes[0]["twins"]
        embedded = next(r for r in report["sizes"] if r["twins"] == twins)

        def cell(r: dict[str, Any]) -> str:
            return f"{r['per_s']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
        lines += ["", f"| {twins:,} twins | GET by id | PATCH with If-Match |", "|---|---|---|",
                  f"| embedded, 1 process | {cell(embedded['get'])} | "
                  f"{cell(embedded['patch_if_match'])} |"]
        for r in remotes:
            lines += [f"| {r['backend']}, 1 process | {cell(r['get_1'])} | "
                      f"{cell(r['patch_1'])} |",
                      f"| {r['backend']}, 2 processes (write lock) | {cell(r['get_2'])} | "
                      f"{cell(r['patch_2'])} |"]
    return "\n".join(lines)
