"""``semtwin models diff`` and ``semtwin models check`` as an ontology repository's CI runs
them: real Brick releases (the ``brickschema`` package), hand-made version pairs for each
kind of change, exit codes 0/1/2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import brickschema
import pytest
import rdflib
from tests.test_cli import semtwin

BRICK = Path(brickschema.__file__).parent / "ontologies"
HEAD = """@prefix ex: <http://ex.org/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:o a owl:Ontology .
ex:Thing a owl:Class ; rdfs:label "Thing" .
ex:Pump a owl:Class ; rdfs:label "Pump" ; rdfs:subClassOf ex:Thing .
ex:power a owl:DatatypeProperty ; rdfs:label "power" .
"""


def _classes(path: Path) -> set[str]:
    graph = rdflib.Graph().parse(path)
    return {str(s) for s in graph.subjects(rdflib.RDF.type, rdflib.OWL.Class)
            if isinstance(s, rdflib.URIRef)}


def test_diff_brick_releases() -> None:
    old, new = BRICK / "1.3" / "Brick.ttl", BRICK / "1.4" / "Brick.ttl"
    result = semtwin("models", "diff", str(old), str(new), "--format", "json", check=False)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["compatible"] is False and report["breaking"] > 0
    removed = {c["subject"] for c in report["changes"]
               if c["kind"] in {"class removed", "class renamed"}}
    assert removed == _classes(old) - _classes(new)
    added = {c["subject"] for c in report["changes"] if c["kind"] == "class added"}
    renamed_to = {c["detail"].removeprefix("now ") for c in report["changes"]
                  if c["kind"] == "class renamed"}
    assert added | renamed_to == _classes(new) - _classes(old)
    markdown = semtwin("models", "diff", str(BRICK / "1.4" / "Brick.ttl"),
                       str(BRICK / "1.5" / "Brick.ttl"), "--format", "markdown", check=False)
    assert markdown.returncode == 1
    assert markdown.stdout.startswith("### Model change: **Breaking**")
    same = semtwin("models", "diff", str(new), str(new), check=False)
    assert same.returncode == 0 and same.stdout.startswith("compatible; 0 change(s)")


@pytest.mark.parametrize(("old", "new", "kind", "breaking"), [
    ("ex:S a sh:NodeShape ; sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; "
     "sh:minCount 0 ] .",
     "ex:S a sh:NodeShape ; sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; "
     "sh:minCount 1 ] .", "constraint narrowed", True),
    ("ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; sh:maxCount 2 ] .",
     "ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; sh:maxCount 3 ] .",
     "constraint relaxed", False),
    ("ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; sh:datatype xsd:decimal ] .",
     "ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; sh:datatype xsd:integer ] .",
     "constraint narrowed", True),
    ("ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:feeds ; sh:class ex:Pump ] .",
     "ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:feeds ; sh:class ex:Thing ] .",
     "constraint relaxed", False),
    ("ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:mode ; sh:in (ex:a ex:b) ] .",
     "ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:mode ; sh:in (ex:a) ] .",
     "constraint narrowed", True),
    ("ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; sh:maxInclusive 10 ] .",
     "ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; sh:maxInclusive 20 ] .",
     "constraint relaxed", False),
    ("", "ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:serial ; sh:minCount 1 ] .",
     "new required property", True),
    ("ex:S sh:targetClass ex:Pump ; sh:property [ sh:path ex:power ; sh:pattern \"^[0-9]+$\" ] .",
     "", "shape removed", False),
    ("ex:Valve a owl:Class ; rdfs:label \"Valve\" .", "", "class removed", True),
    ("ex:Valve a owl:Class ; rdfs:label \"Valve\" .",
     "ex:ValveUnit a owl:Class ; rdfs:label \"Valve\" .", "class renamed", True),
    ("ex:Valve a owl:Class ; rdfs:label \"Valve\" .",
     "ex:Valve a owl:Class ; rdfs:label \"Valve\" ; owl:deprecated true .",
     "class deprecated", False),
    ("ex:Valve a owl:Class ; rdfs:label \"Valve\" .",
     "ex:Valve a owl:Class ; rdfs:label \"A valve\" .", "label edited", False),
    ("ex:Valve a owl:Class ; rdfs:label \"Valve\" ; rdfs:subClassOf ex:Thing .",
     "ex:Valve a owl:Class ; rdfs:label \"Valve\" .", "superclass removed", True),
    ("", "ex:Valve a owl:Class ; rdfs:label \"Valve\" .", "class added", False),
])
def test_each_kind_of_change(tmp_path: Path, old: str, new: str, kind: str,
                             breaking: bool) -> None:
    (tmp_path / "old.ttl").write_text(HEAD + old)
    (tmp_path / "new.ttl").write_text(HEAD + new)
    result = semtwin("models", "diff", str(tmp_path / "old.ttl"), str(tmp_path / "new.ttl"),
                     "--format", "json", check=False)
    report = json.loads(result.stdout)
    found = [(c["kind"], c["breaking"]) for c in report["changes"]]
    assert (kind, breaking) in found, found
    assert result.returncode == (1 if any(b for _, b in found) else 0)


def test_diff_of_unreadable_input_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "bad.ttl").write_text("<a> <b> .")
    (tmp_path / "good.ttl").write_text(HEAD)
    result = semtwin("models", "diff", str(tmp_path / "good.ttl"), str(tmp_path / "bad.ttl"),
                     check=False)
    assert result.returncode == 2 and "line 1" in result.stderr


def test_check_finds_what_ci_should_catch(tmp_path: Path) -> None:
    (tmp_path / "model.ttl").write_text(HEAD + """
ex:o owl:imports ex:elsewhere .
ex:Valve a owl:Class .
ex:Gauge a owl:Class ; rdfs:label "Gauge" ; rdfs:subClassOf ex:Pump , ex:Valve .
ex:Pump owl:disjointWith ex:Valve .
ex:S a sh:NodeShape ; sh:targetClass ex:Pump ;
  sh:property [ sh:path ex:power ; sh:minCount 3 ; sh:maxCount 1 ] .
""")
    (tmp_path / "broken.ttl").write_text("<a> <b> .")
    result = semtwin("models", "check", str(tmp_path), "--format", "json", check=False)
    assert result.returncode == 1
    findings = {(f["level"], f["check"]) for f in json.loads(result.stdout)["findings"]}
    assert {("error", "syntax"), ("error", "imports"), ("error", "shacl"),
            ("warning", "lint")} <= findings
    text = semtwin("models", "check", str(tmp_path / "model.ttl"), check=False).stdout
    if shutil.which("java"):
        assert "http://ex.org/Gauge: class is unsatisfiable" in text
    else:
        assert "Java is not installed" in text
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "model.ttl").write_text(HEAD)
    ok = semtwin("models", "check", str(clean), "--no-reasoner", check=False)
    assert ok.returncode == 0, ok.stdout
