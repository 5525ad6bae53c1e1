"""A model's activation decides on its impact under the write lock: a twin written after the
dry run began (validated against the shapes active then) is not let through unseen, and the
new version and the one it replaces change status in one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from semtwin.errors import Conflict
from semtwin.rdf import RdfFormat
from semtwin.runtime import Semtwin
from semtwin.services.models import ModelService
from semtwin.settings import Settings

NS = "https://ex.org/act#"


def _model(version: str, max_value: int) -> bytes:
    return f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix : <{NS}> .
:model a owl:Ontology ; owl:versionInfo "{version}" .
:PumpShape a sh:NodeShape ; sh:targetClass :Pump ;
  sh:property [ sh:path :value ; sh:maxInclusive {max_value} ] .
""".encode()


def test_a_write_during_the_dry_run_is_judged_before_activation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    try:
        runtime.models.upload(_model("1", 100), RdfFormat.TURTLE)
        runtime.models.set_status(f"{NS}model", "1", "active")
        runtime.models.upload(_model("2", 10), RdfFormat.TURTLE)
        runtime.twins.put("p1", {"$types": [NS + "Pump"], "properties": {NS + "value": 5}})

        dry_run = ModelService.impact
        landed: list[str] = []

        def impact_while_a_twin_lands(self: ModelService, iri: str, version: str
                                      ) -> dict[str, object]:
            found = dry_run(self, iri, version)
            if not landed:  # another client's write, accepted under version 1's shapes
                runtime.twins.put("p2", {"$types": [NS + "Pump"],
                                         "properties": {NS + "value": 50}})
                landed.append("p2")
            return found

        monkeypatch.setattr(ModelService, "impact", impact_while_a_twin_lands)
        head = runtime.pipeline.journal_head()
        with pytest.raises(Conflict) as refused:
            runtime.models.set_status(f"{NS}model", "2", "active")
        assert "1 violation" in str(refused.value)
        assert runtime.pipeline.journal_head() == head + 1  # the twin; no status change
        assert runtime.models.get(f"{NS}model", "2").status == "draft"

        runtime.twins.put("p2", {"$types": [NS + "Pump"], "properties": {NS + "value": 9}})
        head = runtime.pipeline.journal_head()
        runtime.models.set_status(f"{NS}model", "2", "active")
        events = runtime.pipeline.events(head, 10)
        assert [e["type"] for e in events] == ["dev.semtwin.model.active",
                                               "dev.semtwin.model.deprecated"]
        assert runtime.models.get(f"{NS}model", "1").status == "deprecated"
    finally:
        runtime.close()
