"""AAS V3.0 imports: each import's shells, submodels and concept descriptions, in the official
ontology's terms (with list order kept), go into the import's own named graph beside its
provenance, validated against the active shapes and committed at once."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from semtwin.errors import Conflict
from semtwin.mappings import SourceFile
from semtwin.mappings.aas import (
    environment_to_rdf,
    id_collisions,
    rdf_to_environment,
    read_environment,
    table,
)
from semtwin.rdf import NamedNode, Quad, term_value
from semtwin.store import SelectResult

if TYPE_CHECKING:
    from semtwin.services.imports import ImportService

_IDENTIFIABLES = ("AssetAdministrationShell", "Submodel", "ConceptDescription")


def import_aas(service: ImportService, files: list[SourceFile], *, actor: str | None,
               request_id: str | None) -> dict[str, Any]:
    ns = table()["namespace"]
    import_id = uuid.uuid4().hex
    triples: list[Quad] = []
    counts = {"assetAdministrationShells": 0, "submodels": 0, "conceptDescriptions": 0}
    dropped: list[str] = []
    seen: dict[str, str] = {}
    for source in files:
        environment = read_environment(source)
        for key in counts:
            for item in environment.get(key, []) or []:
                ident = item.get("id") if isinstance(item, dict) else None
                if ident in seen and seen[ident] != source.name:
                    raise Conflict(f"{ident} is in both {seen[ident]} and {source.name}: "
                                   "import them separately")
                if isinstance(ident, str):
                    seen[ident] = source.name
        dropped += [f"{source.name} {d}" for d in environment.pop("$dropped", [])]
        dropped += [f"{source.name}: {c} (kept apart)" for c in id_collisions(environment)]
        for key in counts:
            counts[key] += len(environment.get(key, []) or [])
        triples += environment_to_rdf(environment)
    identifiables = {term_value(q.subject) for q in triples
                     if term_value(q.predicate).endswith("22-rdf-syntax-ns#type")
                     and term_value(q.object) in {ns + c for c in _IDENTIFIABLES}
                     and isinstance(q.subject, NamedNode)}
    graph, prov = service.provenance(import_id, "Asset Administration Shell", "3.0", files,
                                     actor, sorted(identifiables))
    quads = [Quad(q.subject, q.predicate, q.object, graph) for q in triples] + prov
    changeset = service.provenance_changeset(graph, quads, {**counts,
                                                            "triples": len(triples)},
                                             actor, request_id, validate=True)
    # checked and written under the write lock: two imports of the same shells at once
    # would both find them new
    with service._pipeline.exclusive():
        _refuse_duplicates(service, identifiables)
        service._pipeline.commit(changeset, actor=actor, request_id=request_id)
    result: dict[str, Any] = {"import": import_id, "format": "aas", "graph": graph.value,
                              **counts, "triples": len(triples)}
    if dropped:
        result["dropped"] = dropped
    return result


def _refuse_duplicates(service: ImportService, identifiables: set[str]) -> None:
    ordered = sorted(identifiables)
    for start in range(0, len(ordered), 500):  # every one of them, 500 a query
        values = " ".join(f"<{i}>" for i in ordered[start:start + 500])
        result = service._store.query(
            f"SELECT ?s ?g WHERE {{ VALUES ?s {{ {values} }} GRAPH ?g {{ ?s a ?t }} "
            f"FILTER(STRSTARTS(STR(?g), 'urn:semtwin:import:')) }} LIMIT 5",
            union_default_graph=False)
        assert isinstance(result, SelectResult)
        rows = [r for r in result.rows if r[0] is not None and r[1] is not None]
        if rows:
            first = rows[0]
            raise Conflict(f"{first[0].value} was already imported (graph "  # type: ignore[union-attr]
                           f"<{first[1].value}>); delete that import's graph first "  # type: ignore[union-attr]
                           "(Graph Store DELETE)")


def export_aas(service: ImportService, graph: str | None) -> dict[str, Any]:
    if graph:
        quads = list(service._store.quads(graph=NamedNode(graph)))
    else:
        quads = [q for g in service._store.named_graphs()
                 if isinstance(g, NamedNode) and g.value.startswith("urn:semtwin:import:")
                 for q in service._store.quads(graph=g)]
    return rdf_to_environment(quads)
