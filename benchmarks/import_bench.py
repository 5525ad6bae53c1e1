"""Import benchmark: the OPC UA core NodeSet, RealEstateCore (767 DTDL interfaces) and a
10,000-shell AAS environment, each mapped alone and imported through the whole write
pipeline into a fresh embedded store; BaSyx reading the same AAS environment as the peer
for the AAS reader. Median of ``runs``; triples produced per second."""

from __future__ import annotations

import io
import json
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from semtwin.mappings import SourceFile
from semtwin.runtime import Semtwin
from semtwin.settings import Settings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _median(fn: Callable[[], Any], runs: int,
            setup: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """Median wall time of ``fn(setup())`` (or ``fn()``); the setup is not timed."""
    times, result = [], None
    for _ in range(runs):
        prepared = setup() if setup is not None else None
        start = time.perf_counter()
        result = fn(prepared) if setup is not None else fn()
        times.append(time.perf_counter() - start)
        if hasattr(prepared, "close"):
            prepared.close()
    return statistics.median(times), result


def aas_environment(shells: int) -> dict[str, Any]:
    """``shells`` shells, each with one submodel of five typed properties."""
    env: dict[str, Any] = {"assetAdministrationShells": [], "submodels": []}
    for i in range(shells):
        submodel_id = f"https://example.com/ids/sm/{i:06d}"
        env["assetAdministrationShells"].append({
            "modelType": "AssetAdministrationShell", "id": f"https://example.com/ids/aas/{i:06d}",
            "idShort": f"Pump{i}",
            "assetInformation": {"assetKind": "Instance",
                                 "globalAssetId": f"https://example.com/assets/{i:06d}"},
            "submodels": [{"type": "ModelReference",
                           "keys": [{"type": "Submodel", "value": submodel_id}]}]})
        env["submodels"].append({
            "modelType": "Submodel", "id": submodel_id, "idShort": "TechnicalData",
            "semanticId": {"type": "ExternalReference", "keys": [
                {"type": "GlobalReference", "value": "0173-1#01-AHX837#002"}]},
            "submodelElements": [
                {"modelType": "Property", "idShort": name, "valueType": vt, "value": value}
                for name, vt, value in (("MaxFlow", "xs:double", str(10.5 + i % 7)),
                                        ("MaxPressure", "xs:double", "16"),
                                        ("Weight", "xs:double", "42.1"),
                                        ("SerialNumber", "xs:string", f"SN{i:08d}"),
                                        ("YearOfConstruction", "xs:int", "2024"))]})
    return env


def _fresh(work: Path) -> Semtwin:
    if work.exists():
        shutil.rmtree(work)
    runtime = Semtwin.open(Settings(store=str(work)))
    runtime.models.ensure_core()
    return runtime


def run(work: Path, runs: int, shells: int) -> dict[str, Any]:
    from semtwin.mappings.aas import environment_to_rdf, read_environment
    from semtwin.mappings.dtdl import interfaces_to_rdf
    from semtwin.mappings.opcua import nodeset_to_rdf, parse_nodeset

    report: dict[str, Any] = {"runs": runs, "rows": []}
    core = SourceFile("Opc.Ua.NodeSet2.xml",
                      (DATA / "opcua" / "Schema" / "Opc.Ua.NodeSet2.xml").read_bytes())
    rec = [SourceFile(str(p), p.read_bytes())
           for p in sorted((DATA / "dtdl" / "realestatecore").rglob("*.json"))]
    env_bytes = json.dumps(aas_environment(shells)).encode()
    aas = SourceFile("aas-10k.json", env_bytes)

    def import_into(fmt: str, files: list[SourceFile], **kwargs: Any
                    ) -> Callable[[Semtwin], Any]:
        def go(runtime: Semtwin) -> Any:
            return runtime.imports.run(fmt, files, **kwargs)
        return go

    cases = [
        ("OPC UA core NodeSet (4,956 nodes)", 3.0,
         lambda: nodeset_to_rdf(parse_nodeset(core))[0],
         import_into("opcua", [core])),
        ("RealEstateCore (767 DTDL interfaces), activated", 2.0,
         lambda: interfaces_to_rdf(rec)[1],
         import_into("dtdl", rec, version="3.3", activate=True)),
        (f"AAS environment ({shells:,} shells + submodels)", None,
         lambda: environment_to_rdf(read_environment(aas)),
         import_into("aas", [aas])),
    ]
    for name, target, mapping, full in cases:
        map_s, quads = _median(mapping, runs)
        import_s, _ = _median(full, runs, setup=lambda: _fresh(work))
        report["rows"].append({
            "name": name, "triples": len(quads), "map_s": map_s, "import_s": import_s,
            "target_s": target, "triples_per_s": len(quads) / import_s})
    from basyx.aas.adapter.json import read_aas_json_file  # type: ignore[attr-defined]

    basyx_s, _ = _median(lambda: read_aas_json_file(io.StringIO(env_bytes.decode()),
                                                    failsafe=False), runs)
    report["basyx_read_aas_s"] = basyx_s
    shutil.rmtree(work, ignore_errors=True)
    return report


def to_markdown(report: dict[str, Any]) -> str:
    lines = ["| source | triples | mapping only | full import (pipeline, embedded store) "
             "| triples/s (full) | target |", "|---|---|---|---|---|---|"]
    for row in report["rows"]:
        target = f"< {row['target_s']:.0f} s" if row["target_s"] else "-"
        lines.append(f"| {row['name']} | {row['triples']:,} | {row['map_s']:.2f} s | "
                     f"{row['import_s']:.2f} s | {row['triples_per_s']:,.0f} | {target} |")
    aas = report["rows"][-1]
    lines.append("")
    lines.append(f"BaSyx reading the same AAS JSON into its object model: "
                 f"{report['basyx_read_aas_s']:.2f} s; semtwin reading, checking and "
                 f"mapping it to RDF: {aas['map_s']:.2f} s "
                 f"({report['basyx_read_aas_s'] / aas['map_s']:.1f}x).")
    return "\n".join(lines)
