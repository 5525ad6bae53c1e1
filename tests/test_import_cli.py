"""``semtwin import`` and ``semtwin export`` on a real store directory."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import shared_data
from tests.test_cli import semtwin


def test_import_dtdl_directory_then_export(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    samples = shared_data("dtdl", "samples", "Thermostat.json")
    imported = semtwin("import", "dtdl", str(samples), "--store", store, "--version", "1",
                       "--activate")
    result = json.loads(imported.stdout)
    assert result["interfaces"] == 1
    assert result["model"]["status"] == "active"
    exported = semtwin("export", "dtdl", "--model", result["model"]["iri"], "--store", store)
    docs = json.loads(exported.stdout)
    assert docs[0]["@id"] == "dtmi:com:example:Thermostat;1"
    names = {c["name"] for c in docs[0]["contents"]}
    assert {"temperature", "targetTemperature", "getMaxMinReport"} <= names


def test_import_refuses_bad_input_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:x:A;1",
                               "@type": "Interface", "extends": "dtmi:x:Missing;1"}))
    result = semtwin("import", "dtdl", str(bad), "--store", store, check=False)
    assert result.returncode == 2
    assert "bad.json" in result.stderr and "dtmi:x:Missing;1" in result.stderr
    listing = semtwin("query", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s a "
                      "<dtmi:dtdl:class:Interface;3> } }", "--store", store, "--format", "json")
    assert json.loads(listing.stdout)["results"]["bindings"][0]["n"]["value"] == "0"


def test_import_opcua_with_dependencies_and_export_xml(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    files = [str(shared_data("opcua", *p.split("/"))) for p in (
        "Schema/Opc.Ua.NodeSet2.xml", "DI/Opc.Ua.Di.NodeSet2.xml")]
    imported = json.loads(semtwin("import", "opcua", *files, "--store", store).stdout)
    assert [n["model"] for n in imported["nodesets"]] == [
        "http://opcfoundation.org/UA/", "http://opcfoundation.org/UA/DI/"]
    out = tmp_path / "di.xml"
    semtwin("export", "opcua", "--model", "http://opcfoundation.org/UA/DI/", "--store", store,
            "-o", str(out))
    assert out.read_text(encoding="utf-8").count("<UAObjectType ") > 10
