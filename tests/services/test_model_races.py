"""Model changes that check the store before they write decide under the write lock, so a
write landing in between cannot slip past the check:

- an activation: a twin written after the dry run began (validated against the shapes active
  then) is not let through unseen, and the new version and the one it replaces change
  status in one transaction;
- a delete: no twin becomes an instance of the model's classes between the check and the
  delete;
- an upload: a model it imports, deleted after the upload resolved its imports, refuses it.

Each race is forced by a hook at the point where the other client's write lands (in another
thread for a delete, which holds the lock throughout)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from semtwin.errors import Conflict, UnprocessableContent
from semtwin.rdf import RdfFormat
from semtwin.runtime import Semtwin
from semtwin.services.models import ModelService
from semtwin.services.pipeline import Changeset, WritePipeline
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


def test_no_instance_appears_while_a_model_is_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    try:
        runtime.models.upload(_model("1", 100), RdfFormat.TURTLE)
        head = runtime.pipeline.journal_head()
        commit = WritePipeline.commit
        writer = threading.Thread(target=lambda: runtime.twins.put(
            "p1", {"$types": [NS + "Pump"], "properties": {NS + "value": 5}}))

        def commit_after_a_twin_lands(self: WritePipeline, changeset: Changeset,
                                      **kwargs: Any) -> Any:
            if changeset.event_type == "model.deleted":  # its checks are done
                writer.start()
                writer.join(timeout=1)  # lands now, unless the delete holds the lock
            return commit(self, changeset, **kwargs)

        monkeypatch.setattr(WritePipeline, "commit", commit_after_a_twin_lands)
        runtime.models.delete(f"{NS}model", "1")
        writer.join()
        kinds = [e["type"] for e in runtime.pipeline.events(head, 10)]
        # the twin waited: an instance of a class of a model deleted before it, not a model
        # deleted under a twin that is an instance of its class
        assert kinds == ["dev.semtwin.model.deleted", "dev.semtwin.twin.created"]
    finally:
        runtime.close()


def test_an_import_deleted_during_the_upload_refuses_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    try:
        runtime.models.upload(_model("1", 100), RdfFormat.TURTLE)
        importer = f"""@prefix owl: <http://www.w3.org/2002/07/owl#> .
<https://ex.org/other> a owl:Ontology ; owl:versionInfo "1" ;
  owl:imports <{NS}model> .""".encode()
        plan = ModelService._plan_upload

        def plan_while_the_import_goes(self: ModelService, *args: object,
                                       **kwargs: object) -> object:
            planned = plan(self, *args, **kwargs)  # type: ignore[arg-type]
            other = threading.Thread(target=lambda: runtime.models.delete(f"{NS}model", "1"))
            other.start()
            other.join()
            return planned

        monkeypatch.setattr(ModelService, "_plan_upload", plan_while_the_import_goes)
        with pytest.raises(UnprocessableContent, match="deleted while"):
            runtime.models.upload(importer, RdfFormat.TURTLE)
        assert [r.iri for r in runtime.models.records()
                if r.iri.startswith("https://ex.org/")] == []
    finally:
        runtime.close()
