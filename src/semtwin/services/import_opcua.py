"""OPC UA NodeSet2 imports: each NodeSet becomes a governed model version (its ModelUri and
Version), its ``RequiredModel`` dependencies resolved from models already loaded or in the
same import, all files of one import committed together."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from semtwin.errors import NotFound
from semtwin.mappings import MappingError, SourceFile, SourceProblem
from semtwin.mappings.opcua import NodeSet, nodeset_to_rdf, parse_nodeset, vocab
from semtwin.mappings.opcua.export import header_json, nodeset_xml
from semtwin.rdf import Literal, NamedNode, Quad, term_value
from semtwin.services.models import OWL_IMPORTS, OWL_ONTOLOGY, OWL_VERSION_INFO
from semtwin.shacl.vocab import RDF_TYPE

if TYPE_CHECKING:
    from semtwin.services.imports import ImportService


def _ordered(nodesets: list[NodeSet], loaded: set[str]) -> list[NodeSet]:
    """Dependencies first; a RequiredModel neither loaded nor imported is an error."""
    by_uri = {n.model_uri: n for n in nodesets}
    ordered: list[NodeSet] = []
    done = set(loaded)
    pending = list(nodesets)
    while pending:
        progressed = False
        for nodeset in list(pending):
            required = [r["ModelUri"] for m in nodeset.models for r in m["required"]]
            missing = [r for r in required if r not in done and r not in by_uri]
            if missing:
                raise MappingError([SourceProblem(
                    nodeset.file, "/UANodeSet/Models/Model/RequiredModel",
                    f"required model {', '.join(missing)} is not loaded: import it first or "
                    "in the same request")])
            if all(r in done for r in required):
                ordered.append(nodeset)
                done.add(nodeset.model_uri)
                pending.remove(nodeset)
                progressed = True
        if not progressed:
            raise MappingError([SourceProblem(pending[0].file, "/UANodeSet/Models",
                                              "the NodeSets require each other in a cycle")])
    return ordered


def import_nodesets(service: ImportService, files: list[SourceFile], *, version: str | None,
                    activate: bool, actor: str | None, request_id: str | None
                    ) -> dict[str, Any]:
    models = service._models
    nodesets = [parse_nodeset(f) for f in files]
    loaded = {r.iri for r in models.records() if r.status != "decommissioned"}
    import_id = uuid.uuid4().hex
    results = []
    planned = []
    for nodeset in _ordered(nodesets, loaded):
        triples, counts = nodeset_to_rdf(nodeset)
        iri = NamedNode(nodeset.model_uri)
        model_version = version or (nodeset.models[0].get("Version") if nodeset.models
                                    else None) or "0"
        header = [Quad(iri, RDF_TYPE, OWL_ONTOLOGY),
                  Quad(iri, OWL_VERSION_INFO, Literal(model_version)),
                  Quad(iri, vocab("nodeSetHeader"),
                       Literal(header_json(nodeset.namespaces, nodeset.models)))]
        for model in nodeset.models:
            for required in model["required"]:
                header.append(Quad(iri, OWL_IMPORTS, NamedNode(required["ModelUri"])))
        source = next(f for f in files if f.name == nodeset.file)
        _graph, prov = service.provenance(import_id, "OPC UA NodeSet2", "1.05",
                                          [source], actor, [])
        quads = [*header, *triples, *(Quad(q.subject, q.predicate, q.object) for q in prov)]
        planned.append(models.plan_quads(quads, iri=iri.value, version=model_version,
                                         known={n.model_uri for n in nodesets}))
        results.append({"file": nodeset.file, "model": nodeset.model_uri,
                        "version": model_version, **counts, "triples": len(triples)})
    records = models.commit_planned(planned, actor=actor, request_id=request_id)
    if activate:
        for record in records:
            models.set_status(record.iri, record.version, "active", actor=actor,
                              request_id=request_id)
    return {"import": import_id, "format": "opcua", "nodesets": results,
            "models": [models.get(r.iri, r.version).json() for r in records]}


def export_nodeset(service: ImportService, model_uri: str, version: str | None) -> bytes:
    models = service._models
    record = models.get(model_uri, version)
    quads = models.content(record)
    header_term = next((q.object for q in quads if q.predicate == vocab("nodeSetHeader")
                        and q.subject == NamedNode(model_uri)), None)
    if header_term is None:
        raise NotFound(f"{model_uri} was not imported from a NodeSet")
    return nodeset_xml(quads, json.loads(term_value(header_term)))
