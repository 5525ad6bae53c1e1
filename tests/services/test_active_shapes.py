"""The set of active models is kept between writes on an in-process store, and forgotten by
any commit that changes a model, through whichever service made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from semtwin.errors import ShapeViolation
from semtwin.rdf import Literal, NamedNode, Quad, RdfFormat
from semtwin.runtime import Semtwin
from semtwin.services.pipeline import META, ST, Changeset
from semtwin.settings import Settings

NS = "https://ex.org/active#"
MODEL = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
<{NS}model> a owl:Ontology ; owl:versionInfo "1" .
<{NS}Shape> a sh:NodeShape ; sh:targetClass <{NS}Pump> ; sh:property [ sh:path <{NS}p> ;
  sh:maxCount 1 ] .
""".encode()


def test_a_model_commit_forgets_the_active_set(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.models.ensure_core()
    shapes = runtime.active_shapes
    before = shapes.active_graphs()
    assert shapes.active_graphs() is before  # kept: not read again
    record = runtime.models.upload(MODEL, RdfFormat.TURTLE)
    assert shapes.active_graphs() == before  # a draft is not active
    # a status written by a commit that is not a model event is still noticed
    status = Quad(NamedNode(record.graph), NamedNode(f"{ST}status"), Literal("active"), META)
    runtime.store.add_quads([status])  # behind the pipeline: nothing tells the cache
    assert shapes.active_graphs() == before
    shapes.note([Changeset(event_type="graph.updated", subject=NamedNode(record.graph),
                           add=[status], data={})])
    assert (record.graph, record.etag) in shapes.active_graphs()
    runtime.close()


def test_activation_applies_to_the_next_write(tmp_path: Path) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    runtime.models.ensure_core()
    runtime.twins.put("before", {"$types": [f"{NS}Pump"]})  # reads and keeps the active set
    runtime.models.upload(MODEL, RdfFormat.TURTLE)
    runtime.models.set_status(f"{NS}model", "1", "active")
    with pytest.raises(ShapeViolation):
        runtime.twins.put("after", {"$types": [f"{NS}Pump"], "properties": {f"{NS}p": [1, 2]}})
    runtime.close()
