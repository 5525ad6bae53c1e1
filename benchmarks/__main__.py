"""``python -m benchmarks [--seconds N] [--buildings N] ...``: run, print, save JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks import sparql_bench


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("suite", nargs="?", default="sparql",
                        choices=["sparql", "lost-updates", "validation", "twins", "imports",
                                 "grounding", "listing", "history", "guard"])
    parser.add_argument("--store", default="oxigraph", choices=["oxigraph", "virtuoso"],
                        help="lost-updates: the remote store under the two API processes")
    parser.add_argument("--writes", type=int, default=30, help="lost-updates: increments")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per cell")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--buildings", type=int, default=39,
                        help="buildings in the big graph (39 give about 1M quads)")
    parser.add_argument("--small-buildings", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/.work"))
    parser.add_argument("--sizes", default="100000,1000000",
                        help="validation: data sizes in triples, comma-separated")
    parser.add_argument("--pyshacl-timeout", type=float, default=1800,
                        help="validation: seconds pyshacl gets per size")
    parser.add_argument("--parts", default=None,
                        help="validation: full,writes,writes-sparql; sparql: local,remote,"
                             "small; twins: get,curve,neighbors,listing,patch,create,batch,ceiling,"
                             "remote "
                             "(all by default; a part not run keeps its last saved numbers)")
    parser.add_argument("--validation-writes", type=int, default=500,
                        help="validation: twin writes per size")
    parser.add_argument("--twins", default="100000,1000000",
                        help="twins: numbers of twins, comma-separated")
    parser.add_argument("--patches", type=int, default=40000,
                        help="twins: twins made ready (ETag read) for the PATCH cell, each "
                             "patched at most once")
    parser.add_argument("--runs", type=int, default=3, help="imports: runs per case (median)")
    parser.add_argument("--shells", type=int, default=10_000, help="imports: AAS shells")
    parser.add_argument("--requests", type=int, default=500,
                        help="grounding: resolve and describe calls each")
    parser.add_argument("--ground-writes", type=int, default=500,
                        help="grounding: twin writes for the index update cost")
    parser.add_argument("--hot-updates", type=int, default=6000,
                        help="history: state updates of one twin per run")
    parser.add_argument("--journal", default="2000,10000,30000",
                        help="history: journal lengths at which polls are timed")
    parser.add_argument("--stop-runs", type=int, default=5,
                        help="guard: runaway queries timed per guard setting")
    args = parser.parse_args()
    if args.suite == "guard":
        from benchmarks import guard_bench

        report = guard_bench.run(args.work / "guard", args.stop_runs)
        out = Path("benchmarks/results")
        out.mkdir(parents=True, exist_ok=True)
        (out / "guard.json").write_text(json.dumps(report, indent=2))
        print(guard_bench.to_markdown(report))
        return
    if args.suite == "history":
        from benchmarks import history_bench

        report = history_bench.run(args.work / "history", args.hot_updates,
                                   [int(n) for n in args.journal.split(",")])
        out = Path("benchmarks/results")
        out.mkdir(parents=True, exist_ok=True)
        (out / "history.json").write_text(json.dumps(report, indent=2))
        print(history_bench.to_markdown(report))
        return
    if args.suite == "listing":
        from benchmarks import listing_bench

        report = listing_bench.run(args.work / "twins", [int(n) for n in args.twins.split(",")])
        out = Path("benchmarks/results")
        out.mkdir(parents=True, exist_ok=True)
        (out / "listing.json").write_text(json.dumps(report, indent=2))
        print(listing_bench.to_markdown(report))
        return
    if args.suite == "grounding":
        from benchmarks import grounding_bench

        report = grounding_bench.run(args.work / "grounding", args.buildings, args.requests,
                                     args.ground_writes)
        out = Path("benchmarks/results")
        out.mkdir(parents=True, exist_ok=True)
        (out / "grounding.json").write_text(json.dumps(report, indent=2))
        print(grounding_bench.to_markdown(report))
        return
    if args.suite == "imports":
        from benchmarks import import_bench

        report = import_bench.run(args.work / "imports", args.runs, args.shells)
        out = Path("benchmarks/results")
        out.mkdir(parents=True, exist_ok=True)
        (out / "imports.json").write_text(json.dumps(report, indent=2))
        print(import_bench.to_markdown(report))
        return
    if args.suite == "twins":
        from benchmarks import twin_bench

        out = Path("benchmarks/results")
        saved = out / "twins.json"
        report = twin_bench.run(
            args.work / "twins", [int(n) for n in args.twins.split(",")], args.seconds,
            args.patches, tuple(args.parts.split(",")) if args.parts else twin_bench.PARTS,
            json.loads(saved.read_text()) if saved.exists() else None)
        out.mkdir(parents=True, exist_ok=True)
        (out / "twins.json").write_text(json.dumps(report, indent=2))
        print(twin_bench.to_markdown(report))
        return
    if args.suite == "validation":
        from benchmarks import validation_bench

        out = Path("benchmarks/results")
        saved = out / "validation.json"
        report = validation_bench.run(
            args.work / "validation", [int(s) for s in args.sizes.split(",")],
            args.pyshacl_timeout, args.validation_writes, args.seconds,
            tuple((args.parts or "full,writes,writes-sparql").split(",")),
            json.loads(saved.read_text()) if saved.exists() else None)
        out.mkdir(parents=True, exist_ok=True)
        (out / "validation.json").write_text(json.dumps(report, indent=2))
        print(validation_bench.to_markdown(report))
        return
    if args.suite == "lost-updates":
        from benchmarks import lost_updates

        print(json.dumps(lost_updates.main(args.store, args.writes)))
        return
    out = Path("benchmarks/results")
    saved = out / "sparql.json"
    parts = tuple(args.parts.split(",")) if args.parts else sparql_bench.PARTS
    report = sparql_bench.run(args.work, seconds=args.seconds, connections=args.connections,
                              buildings=args.buildings, small_buildings=args.small_buildings,
                              parts=parts,
                              saved=json.loads(saved.read_text()) if saved.exists() else None)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sparql.json").write_text(json.dumps(report, indent=2))
    print(sparql_bench.to_markdown(report))


if __name__ == "__main__":
    main()
