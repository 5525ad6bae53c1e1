"""Imports and exports of standards documents (DTDL, OPC UA NodeSet2, AAS).

A mapping turns the source bytes into RDF (models) and twin bodies (instances); this service
runs the result through the one write pipeline. Models become governed model versions (draft,
or activated after their impact check); instances become twins and relationships, validated
against the active shapes, in one all-or-nothing commit. Every import leaves PROV-O
provenance in its own named graph ``urn:semtwin:import:{id}``: the source files with their
SHA-256, the standard and its version, the time and the actor, and what it generated.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from semtwin.errors import InvalidInput, NotFound, UnprocessableContent
from semtwin.mappings import MappingError, SourceFile
from semtwin.mappings.dtdl import parse_interfaces, rdf_to_interfaces
from semtwin.mappings.dtdl.to_rdf import model_to_triples
from semtwin.mappings.dtdl.twins import (
    Content,
    InterfaceInfo,
    interface_info,
    read_adt,
    relationship_body,
    relationship_to_adt,
    twin_body,
    twin_to_adt,
)
from semtwin.rdf import Literal, NamedNode, Quad, term_value
from semtwin.services.batch import BatchService
from semtwin.services.models import OWL_ONTOLOGY, OWL_VERSION_INFO, ModelRecord, ModelService
from semtwin.services.pipeline import IMPORTS, ST, Changeset, Precondition, WritePipeline
from semtwin.services.relationships import RelationshipService
from semtwin.services.twins import TwinService
from semtwin.shacl.vocab import RDF_TYPE
from semtwin.store import AskResult, SelectResult, TwinStore

PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
FORMATS = ("dtdl", "opcua", "aas")
MAX_IMPORT_OPERATIONS = 100_000
_DTDL_PROP = "dtmi:dtdl:property:{};{}"


def _alt(name: str) -> str:
    return f"(<{_DTDL_PROP.format(name, 3)}>|<{_DTDL_PROP.format(name, 2)}>)"


_CONTENTS_QUERY = f"""
SELECT ?c ?name ?cls ?schema ?schemaCls ?p ?pname ?pschema ?pschemaCls WHERE {{
  ?model {_alt('extends')}* ?iface .
  ?iface {_alt('contents')} ?c .
  ?c {_alt('name')} ?name ; a ?cls .
  FILTER(STRSTARTS(STR(?cls), "dtmi:dtdl:class:"))
  OPTIONAL {{ ?c {_alt('schema')} ?schema .
    OPTIONAL {{ ?schema a ?schemaCls . FILTER(STRSTARTS(STR(?schemaCls), "dtmi:dtdl:class:")) }} }}
  OPTIONAL {{ ?c {_alt('properties')} ?p . ?p {_alt('name')} ?pname .
    OPTIONAL {{ ?p {_alt('schema')} ?pschema .
      OPTIONAL {{ ?pschema a ?pschemaCls .
                 FILTER(STRSTARTS(STR(?pschemaCls), "dtmi:dtdl:class:")) }} }} }}
}}"""


def _class_name(term: Any) -> str | None:
    if term is None:
        return None
    return str(term_value(term)).rsplit(":", 1)[1].split(";")[0]


class ImportService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline, models: ModelService,
                 twins: TwinService, relationships: RelationshipService,
                 batch: BatchService) -> None:
        self._store = store
        self._pipeline = pipeline
        self._models = models
        self._twins = twins
        self._relationships = relationships
        self._batch = batch

    # -- entry -------------------------------------------------------------------------------
    def run(self, fmt: str, files: list[SourceFile], *, model_iri: str | None = None,
            version: str | None = None, activate: bool = False, actor: str | None = None,
            request_id: str | None = None, force: bool = False) -> dict[str, Any]:
        if fmt not in FORMATS:
            raise NotFound(f"no importer for {fmt!r} (known: {', '.join(FORMATS)})")
        if not files:
            raise InvalidInput("nothing to import")
        try:
            if fmt == "dtdl":
                return self._dtdl(files, model_iri=model_iri, version=version,
                                  activate=activate, actor=actor, request_id=request_id)
            if fmt == "opcua":
                from semtwin.services.import_opcua import import_nodesets

                return import_nodesets(self, files, version=version, activate=activate,
                                       actor=actor, request_id=request_id)
            from semtwin.services.import_aas import import_aas

            return import_aas(self, files, actor=actor, request_id=request_id)
        except MappingError as err:
            raise UnprocessableContent(
                str(err), problems=[{"file": p.file, "where": p.where, "message": p.message}
                                    for p in err.problems]) from None
        except RecursionError:  # JSON or XML nested past what a reader recurses through
            raise UnprocessableContent(
                "a document is nested too deeply to read (about a thousand levels or more); "
                "nothing was imported") from None

    # -- provenance ---------------------------------------------------------------------------
    def provenance(self, import_id: str, standard: str, standard_version: str,
                   files: Sequence[SourceFile], actor: str | None,
                   generated: Sequence[str]) -> tuple[NamedNode, list[Quad]]:
        graph = NamedNode(f"{IMPORTS}{import_id}")
        activity = graph
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        quads = [Quad(activity, RDF_TYPE, NamedNode(PROV + "Activity"), graph),
                 Quad(activity, RDF_TYPE, NamedNode(ST + "Import"), graph),
                 Quad(activity, NamedNode(DCT + "conformsTo"), Literal(standard), graph),
                 Quad(activity, NamedNode(ST + "standardVersion"), Literal(standard_version),
                      graph),
                 Quad(activity, NamedNode(PROV + "endedAtTime"),
                      Literal(now, datatype=NamedNode("http://www.w3.org/2001/XMLSchema#"
                                                      "dateTime")), graph)]
        if actor:
            quads.append(Quad(activity, NamedNode(PROV + "wasAssociatedWith"),
                              Literal(actor), graph))
        for source in files:
            digest = hashlib.sha256(source.data).hexdigest()
            entity = NamedNode(f"urn:sha256:{digest}")
            quads += [Quad(activity, NamedNode(PROV + "used"), entity, graph),
                      Quad(entity, RDF_TYPE, NamedNode(PROV + "Entity"), graph),
                      Quad(entity, NamedNode(ST + "fileName"), Literal(source.name), graph),
                      Quad(entity, NamedNode(ST + "sha256"), Literal(digest), graph),
                      Quad(entity, NamedNode(ST + "bytes"), Literal(len(source.data)), graph)]
        for iri in generated:
            quads.append(Quad(activity, NamedNode(PROV + "generated"), NamedNode(iri), graph))
        return graph, quads

    def provenance_changeset(self, graph: NamedNode, quads: list[Quad], data: dict[str, Any],
                             actor: str | None, request_id: str | None, *,
                             validate: bool = False) -> Changeset:
        """The import's graph: its provenance, and (``validate``) data checked against the
        active shapes."""
        changeset = Changeset(event_type="import.completed", subject=graph, add=quads,
                              new_etag=uuid.uuid4().hex, data=data, validate=validate,
                              precondition=Precondition(graph, must_not_exist=True))
        changeset.actor, changeset.request_id = actor, request_id
        return changeset

    def upload_model(self, quads: list[Quad], *, iri: str, version: str,
                     activate: bool, force: bool = False, actor: str | None,
                     request_id: str | None) -> ModelRecord:
        header = [Quad(NamedNode(iri), RDF_TYPE, OWL_ONTOLOGY),
                  Quad(NamedNode(iri), OWL_VERSION_INFO, Literal(version))]
        record = self._models.upload_quads([*header, *quads], iri=iri, version=version,
                                           actor=actor, request_id=request_id)
        if activate:
            self._models.set_status(iri, version, "active", force=force, actor=actor,
                                    request_id=request_id)
            record = self._models.get(iri, version)
        return record

    def commit_instances(self, operations: list[dict[str, Any]], extra: list[Changeset],
                         actor: str | None, request_id: str | None) -> dict[str, Any]:
        return self._batch.apply({"operations": operations}, actor=actor,
                                 request_id=request_id, limit=MAX_IMPORT_OPERATIONS,
                                 extra=extra)

    # -- DTDL ---------------------------------------------------------------------------------
    def _dtdl(self, files: list[SourceFile], *, model_iri: str | None, version: str | None,
              activate: bool, actor: str | None, request_id: str | None) -> dict[str, Any]:
        import_id = uuid.uuid4().hex
        documents = [(source, read_adt(source)) for source in files]
        model_files: list[SourceFile] = []
        for source, doc in documents:
            if doc.models and not doc.twins and not doc.relationships and \
                    not source.data.lstrip().startswith(b'{"Section"'):
                model_files.append(source)
            elif doc.models:
                model_files.append(SourceFile(f"{source.name} (models)",
                                              json.dumps(doc.models).encode()))
        result: dict[str, Any] = {"import": import_id, "format": "dtdl"}
        parsed = None
        if model_files:
            parsed = self._parse_with_stored(model_files)
            new_roots = [r for r in parsed.roots if r.file in {f.name for f in model_files}]
            parsed.roots = new_roots
            triples = model_to_triples(parsed, parsed.contexts)
            iri = model_iri or _common_prefix([r.id for r in new_roots])
            digest = hashlib.sha256(b"".join(f.data for f in model_files)).hexdigest()
            model_version = version or f"sha256-{digest[:12]}"
            _graph, prov = self.provenance(
                import_id, "DTDL", ",".join(sorted({str(r.lang.version) for r in new_roots})),
                model_files, actor, [])
            record = self.upload_model(
                [*triples, *(Quad(q.subject, q.predicate, q.object) for q in prov)],
                iri=iri, version=model_version, activate=activate, actor=actor,
                request_id=request_id)
            result["model"] = record.json()
            result["interfaces"] = len(new_roots)
            result["triples"] = len(triples)
        twins = [(s.name, w, t) for s, d in documents for w, t in d.twins]
        rels = [(s.name, w, r) for s, d in documents for w, r in d.relationships]
        if twins or rels:
            result.update(self._adt_instances(import_id, files, twins, rels, parsed, actor,
                                              request_id))
        return result

    def _parse_with_stored(self, files: list[SourceFile]) -> Any:
        """Parse; references to interfaces imported earlier resolve against the stored
        DTDL models."""
        try:
            return parse_interfaces(files)
        except MappingError as err:
            if not any("is not defined in the model set" in p.message for p in err.problems):
                raise
            stored = self.stored_interfaces()
            if not stored:
                raise
            known = SourceFile("(stored DTDL models)", json.dumps(stored).encode())
            model = parse_interfaces([*files, known])
            return model

    def stored_interfaces(self) -> list[dict[str, Any]]:
        quads = [q for record in self._models.records() if record.status != "decommissioned"
                 for q in self._models.content(record)]
        return rdf_to_interfaces(quads)

    def _adt_instances(self, import_id: str, files: list[SourceFile],
                       twins: list[tuple[str, str, Any]], rels: list[tuple[str, str, Any]],
                       parsed: Any, actor: str | None, request_id: str | None
                       ) -> dict[str, Any]:
        cache: dict[str, InterfaceInfo | None] = {}

        def resolve(dtmi: str) -> InterfaceInfo | None:
            if dtmi not in cache:
                info = interface_info(parsed, dtmi) if parsed is not None else None
                cache[dtmi] = info or self.stored_interface(dtmi)
            return cache[dtmi]

        operations: list[dict[str, Any]] = []
        models_of: dict[str, str] = {}
        for name, where, twin in twins:
            twin_id, body = twin_body(twin, where, name, resolve)
            models_of[twin_id] = body["$types"][0]
            operations.append({"op": "put", "id": twin_id, "twin": body})

        def model_of(twin_id: str) -> str | None:
            if twin_id in models_of:
                return models_of[twin_id]
            try:
                types = self._twins.get(twin_id).body.get("$types", [])
            except NotFound:
                return None
            return next((t for t in types if t.startswith("dtmi:")), None)

        for name, where, rel in rels:
            source, rel_id, body = relationship_body(rel, where, name, model_of, resolve)
            operations.append({"op": "putRelationship", "id": source,
                               "relationshipId": rel_id, "relationship": body})
        generated = [self._twins.iri(op["id"]).value for op in operations if op["op"] == "put"]
        graph, prov = self.provenance(import_id, "Azure Digital Twins (DTDL)", "1.0.0",
                                      files, actor, generated)
        extra = [self.provenance_changeset(graph, prov, {"twins": len(twins),
                                                         "relationships": len(rels)},
                                           actor, request_id)]
        self.commit_instances(operations, extra, actor, request_id)
        return {"twins": len(twins), "relationships": len(rels), "provenance": term_value(graph)}

    def stored_interface(self, dtmi: str) -> InterfaceInfo | None:
        result = self._store.query(_CONTENTS_QUERY.replace("?model", f"<{dtmi}>"),
                                   union_default_graph=True)
        assert isinstance(result, SelectResult)
        contents: dict[str, Content] = {}
        rel_props: dict[str, dict[str, Content]] = {}
        for row in result.rows:
            c, name, cls, schema, schema_cls, p, pname, pschema, pschema_cls = row
            if c is None or name is None:
                continue
            if p is not None and pname is not None:
                rel_props.setdefault(term_value(c), {})[term_value(pname)] = Content(
                    term_value(p), term_value(pname), "Property",
                    term_value(pschema) if pschema else None, _class_name(pschema_cls))
            label = term_value(name)
            if label not in contents:
                contents[label] = Content(term_value(c), label, _class_name(cls) or "",
                                          term_value(schema) if schema else None,
                                          _class_name(schema_cls))
        if not contents:
            known = self._store.query(
                f"ASK {{ <{dtmi}> a ?t FILTER(STRSTARTS(STR(?t), 'dtmi:dtdl:class:Interface')) }}",
                union_default_graph=True)
            if not (isinstance(known, AskResult) and known.value):
                return None
        for key, content in contents.items():
            if content.iri in rel_props:
                contents[key] = Content(content.iri, content.name, content.kind,
                                         content.schema, content.schema_kind,
                                         rel_props[content.iri])
        return InterfaceInfo(dtmi, contents)

    def export_aas(self, graph: str | None = None) -> dict[str, Any]:
        from semtwin.services.import_aas import export_aas

        return export_aas(self, graph)

    def export_opcua(self, model_uri: str, version: str | None = None) -> bytes:
        from semtwin.services.import_opcua import export_nodeset

        return export_nodeset(self, model_uri, version)

    # -- DTDL export ----------------------------------------------------------------------------
    def export_dtdl_models(self, iri: str, version: str | None) -> list[dict[str, Any]]:
        record = self._models.get(iri, version)
        return rdf_to_interfaces(self._models.content(record))

    def export_adt(self, model: str | None = None) -> str:
        """Twins typed by DTDL interfaces (optionally one interface) with their relationships,
        as ADT bulk-import NDJSON."""
        flt = f"VALUES ?t {{ <{model}> }}" if model else \
            "FILTER(STRSTARTS(STR(?t), 'dtmi:'))"
        rows = self._store.query(
            f"SELECT DISTINCT ?g ?t WHERE {{ GRAPH ?g {{ ?g a ?t }} {flt} }} ORDER BY ?g",
            union_default_graph=False)
        assert isinstance(rows, SelectResult)
        lines = [{"Section": "Header"}, {"fileVersion": "1.0.0", "author": "semtwin",
                                         "organization": "semtwin"}, {"Section": "Twins"}]
        rel_lines: list[dict[str, Any]] = []
        infos: dict[str, InterfaceInfo | None] = {}
        for graph, dtmi in rows.rows:
            if graph is None or dtmi is None:
                continue
            if term_value(dtmi) not in infos:
                infos[term_value(dtmi)] = self.stored_interface(term_value(dtmi))
            info = infos[term_value(dtmi)]
            if info is None:
                continue
            twin_id = self._twins.id_of(term_value(graph))
            try:
                twin = self._twins.get(twin_id).body
            except (NotFound, InvalidInput):
                continue
            lines.append(twin_to_adt(twin, info))
            for rel in self._relationships.list(twin_id, direction="out"):
                rel_lines.append(relationship_to_adt(rel, info))
        lines.append({"Section": "Relationships"})
        lines.extend(rel_lines)
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def _common_prefix(dtmis: list[str]) -> str:
    if not dtmis:
        raise InvalidInput("no interfaces to import")
    parts = [d.split(";")[0].split(":") for d in dtmis]
    prefix: list[str] = []
    for segments in zip(*parts, strict=False):
        if len(set(segments)) != 1:
            break
        prefix.append(segments[0])
    if len(dtmis) == 1:
        return dtmis[0].split(";")[0]
    return ":".join(prefix) if len(prefix) > 1 else "dtmi:imported"
