"""The set of active models is kept between writes on an in-process store, and forgotten by
any commit that changes a model, through whichever service made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from semtwin.errors import ShapeViolation
from semtwin.rdf import RdfFormat
from semtwin.runtime import Semtwin
from semtwin.settings import Settings

NS = "https://ex.org/active#"
MODEL = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
<{NS}model> a owl:Ontology ; owl:versionInfo "1" .
<{NS}Shape> a sh:NodeShape ; sh:targetClass <{NS}Pump> ; sh:property [ sh:path <{NS}p> ;
  sh:maxCount 1 ] .
""".encode()


def test_model_commits_replayed_into_a_runtime_change_its_active_set(tmp_path: Path) -> None:
    """A model change committed by a tool (``semtwin replay``, here through the pipeline
    as it does), not by the models service, still reaches the kept set."""
    origin = Semtwin.open(Settings(store=str(tmp_path / "origin")))
    origin.models.ensure_core()
    record = origin.models.upload(MODEL, RdfFormat.TURTLE)
    origin.models.set_status(f"{NS}model", "1", "active")
    entries = origin.pipeline.journal(0, 1000)
    origin.close()

    target = Semtwin.open(Settings(store=str(tmp_path / "target")))
    shapes = target.active_shapes
    assert shapes.active_graphs() == ()
    assert shapes.active_graphs() is shapes.active_graphs()  # kept: not read again
    seen = []
    for _, changeset in entries:
        assert changeset is not None
        target.pipeline.commit(changeset)
        seen.append(shapes.active_graphs())
        assert seen[-1] == shapes._read_active_graphs()  # never stale
    assert (record.graph, record.etag) in seen[-1]
    with pytest.raises(ShapeViolation):  # and the next write is validated against it
        target.twins.put("p", {"$types": [f"{NS}Pump"], "properties": {f"{NS}p": [1, 2]}})
    target.close()


def test_activation_applies_to_the_next_write(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.models.ensure_core()
    runtime.twins.put("before", {"$types": [f"{NS}Pump"]})  # reads and keeps the active set
    runtime.models.upload(MODEL, RdfFormat.TURTLE)
    runtime.models.set_status(f"{NS}model", "1", "active")
    with pytest.raises(ShapeViolation):
        runtime.twins.put("after", {"$types": [f"{NS}Pump"], "properties": {f"{NS}p": [1, 2]}})
    runtime.close()
