"""Models: versioned ontologies and SHACL shapes graphs, each version in its own named graph,
with a lifecycle ``draft → active → deprecated → decommissioned``. Activation first runs an
impact analysis (which existing data would violate the shapes that would then be active) and
is refused when it finds violations, unless forced with a reason (journaled)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from semtwin.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SemtwinError,
    UnprocessableContent,
)
from semtwin.modeldiff import diff_models
from semtwin.rdf import Literal, NamedNode, Quad, RdfFormat, format_for_path, parse_rdf
from semtwin.services.governance import ACTIVE, data_view
from semtwin.services.pipeline import META, ST, Changeset, Precondition, WritePipeline
from semtwin.shacl import MemoryGraph, ShapesError, ShapesGraph, Validator
from semtwin.shacl.report import report_json
from semtwin.shacl.vocab import OWL_CLASS, RDF_TYPE, RDFS_CLASS
from semtwin.store import SelectResult, TwinStore

log = logging.getLogger("semtwin.models")
OWL = "http://www.w3.org/2002/07/owl#"
OWL_ONTOLOGY = NamedNode(OWL + "Ontology")
OWL_VERSION_INFO = NamedNode(OWL + "versionInfo")
OWL_IMPORTS = NamedNode(OWL + "imports")
STATUSES = ("draft", "active", "deprecated", "decommissioned")
TRANSITIONS = {
    "draft": {"active", "decommissioned"},
    "active": {"deprecated"},
    "deprecated": {"active", "decommissioned"},
    "decommissioned": set(),
}
_FIELDS = {"modelIri": "iri", "version": "version", "status": "status", "triples": "triples",
           "updated": "updated", "etag": "etag", "imports": "imports"}
REPO = Path(__file__).resolve().parents[3]
CORE_DIRS = (REPO / "ontologies", REPO / "shapes")


def model_graph(iri: str, version: str) -> NamedNode:
    return NamedNode(f"urn:semtwin:model:{quote(iri, safe='')}:{quote(version, safe='')}")


@dataclass(frozen=True)
class ModelRecord:
    iri: str
    version: str
    status: str
    graph: str
    triples: int
    etag: str
    imports: tuple[str, ...] = ()
    updated: str | None = None
    unsupported: tuple[str, ...] = ()
    """SHACL features of the model this server does not evaluate (reported, not skipped
    silently)."""

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iri": self.iri, "version": self.version, "status": self.status,
            "graph": self.graph, "triples": self.triples, "etag": self.etag,
            "imports": list(self.imports), "updated": self.updated}
        if self.unsupported:
            out["warnings"] = [_UNSUPPORTED_WARNINGS.get(name, f"not evaluated: {name}")
                               for name in self.unsupported]
        return out


_UNSUPPORTED_WARNINGS = {
    "sparql": "some sh:sparql constraints (SHACL-SPARQL) read triples not connected to $this "
              "by their patterns: they are evaluated when data is validated on its own "
              "(semtwin validate FILE, POST /api/v1/validate), not on writes or against the "
              "store, where they are reported as unsupported",
    "ConstraintComponent": "custom constraint components (sh:parameter) are not evaluated",
}


class ModelService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline) -> None:
        """The active shapes learn of model changes from the pipeline's commits
        (``ActiveShapes.note``), whichever service or tool commits them."""
        self._store = store
        self._pipeline = pipeline

    # -- reading ---------------------------------------------------------------------------
    def records(self, iri: str | None = None) -> list[ModelRecord]:
        result = self._store.query(
            f"SELECT ?g ?p ?o WHERE {{ GRAPH {META} {{ ?g <{ST}modelIri> ?m ; ?p ?o }} }}",
            union_default_graph=False)
        assert isinstance(result, SelectResult)
        fields: dict[str, dict[str, list[str]]] = {}
        for g, p, o in result.rows:
            if g is None or p is None or o is None:
                continue
            name = p.value.removeprefix(ST)  # type: ignore[union-attr]
            if name in _FIELDS:
                fields.setdefault(g.value, {}).setdefault(name, []).append(  # type: ignore[union-attr]
                    o.value)  # type: ignore[union-attr]
        records = []
        for graph, f in fields.items():
            record = ModelRecord(
                iri=f["modelIri"][0], version=f.get("version", [""])[0],
                status=f.get("status", ["draft"])[0], graph=graph,
                triples=int(f.get("triples", ["0"])[0]), etag=f.get("etag", [""])[0],
                imports=tuple(sorted(f.get("imports", []))), updated=f.get("updated", [None])[0])
            if iri is None or record.iri == iri:
                records.append(record)
        return sorted(records, key=lambda r: (r.iri, r.version))

    def get(self, iri: str, version: str | None = None) -> ModelRecord:
        versions = self.records(iri)
        if version is not None:
            versions = [r for r in versions if r.version == version]
        elif any(r.status == ACTIVE for r in versions):
            versions = [r for r in versions if r.status == ACTIVE]
        if not versions:
            raise NotFound(f"no model {iri!r}" + (f" version {version!r}" if version else ""))
        return versions[-1]

    def content(self, record: ModelRecord) -> list[Quad]:
        return list(self._store.quads(None, None, None, NamedNode(record.graph)))

    # -- writing ---------------------------------------------------------------------------
    def upload(self, body: bytes, fmt: RdfFormat, *, iri: str | None = None,
               version: str | None = None, actor: str | None = None,
               request_id: str | None = None, source: str = "body") -> ModelRecord:
        if fmt in (RdfFormat.TRIG, RdfFormat.N_QUADS):
            raise InvalidInput("a dataset (TriG, N-Quads) holds several models: use "
                               "upload_many (POST /api/v1/models/batch)")
        quads = parse_rdf(body, fmt, source=source, to_graph=NamedNode("urn:semtwin:upload"))
        planned = self._plan_upload(quads, hashlib.sha256(body).hexdigest()[:32],
                                    iri=iri, version=version, known=set())
        return self.commit_planned([planned], actor=actor, request_id=request_id)[0]

    def upload_quads(self, quads: list[Quad], *, iri: str, version: str,
                     actor: str | None = None, request_id: str | None = None) -> ModelRecord:
        """A model built by an importer (DTDL, OPC UA): same checks as an upload."""
        digest = hashlib.sha256("\n".join(sorted(map(str, quads))).encode()).hexdigest()
        planned = self._plan_upload(quads, digest[:32], iri=iri, version=version, known=set())
        return self.commit_planned([planned], actor=actor, request_id=request_id)[0]

    def plan_quads(self, quads: list[Quad], *, iri: str, version: str,
                   known: set[str]) -> tuple[ModelRecord, Changeset]:
        digest = hashlib.sha256("\n".join(sorted(map(str, quads))).encode()).hexdigest()
        return self._plan_upload(quads, digest[:32], iri=iri, version=version, known=known)

    def commit_planned(self, planned: list[tuple[ModelRecord, Changeset]], *,
                       actor: str | None, request_id: str | None) -> list[ModelRecord]:
        """Several planned uploads in one transaction. Their imports were resolved when
        they were planned; under the write lock they are checked again, so a model deleted
        meanwhile is not left imported."""
        for _record, changeset in planned:
            changeset.actor, changeset.request_id = actor, request_id
            changeset.batched = len(planned) > 1
        with self._pipeline.exclusive():
            present = {r.iri for r in self.records()} | {r.iri for r, _ in planned}
            for record, _ in planned:
                gone = [i for i in record.imports if i not in present]
                if gone:
                    raise UnprocessableContent(
                        f"owl:imports not found among the server's models: {', '.join(gone)}"
                        " (deleted while this upload was checked)")
            self._pipeline.commit_all([changeset for _, changeset in planned])
        return [record for record, _ in planned]

    def upload_many(self, body: bytes, fmt: RdfFormat, *, actor: str | None = None,
                    request_id: str | None = None) -> list[ModelRecord]:
        """Several models at once, atomically: each named graph of a TriG or N-Quads body
        is one model (its IRI and version from its owl:Ontology); they may import each
        other."""
        if fmt not in (RdfFormat.TRIG, RdfFormat.N_QUADS):
            raise InvalidInput("several models come as a dataset: TriG or N-Quads, one named "
                               "graph per model")
        graphs: dict[str, list[Quad]] = {}
        for q in parse_rdf(body, fmt):
            if not isinstance(q.graph_name, NamedNode):
                raise InvalidInput("every triple must be in a named graph (one per model)")
            graphs.setdefault(q.graph_name.value, []).append(q)
        if not graphs:
            raise InvalidInput("the body holds no model")
        declared: set[str] = set()
        for quads in graphs.values():
            view = MemoryGraph(quads)
            declared.update(o.value for o in view.subjects(RDF_TYPE, OWL_ONTOLOGY)
                            if isinstance(o, NamedNode))
        planned = []
        for name, quads in graphs.items():
            digest = hashlib.sha256("\n".join(sorted(map(str, quads))).encode()).hexdigest()
            try:
                planned.append(self._plan_upload(quads, digest[:32], iri=None, version=None,
                                                 known=declared))
            except SemtwinError as err:
                err.detail = f"graph <{name}>: {err.detail}"
                raise
        return self.commit_planned(planned, actor=actor, request_id=request_id)

    def _plan_upload(self, quads: list[Quad], etag: str, *, iri: str | None,
                     version: str | None, known: set[str]) -> tuple[ModelRecord, Changeset]:
        view = MemoryGraph(quads)
        ontologies = view.subjects(RDF_TYPE, OWL_ONTOLOGY)
        if iri is None:
            named = [o for o in ontologies if isinstance(o, NamedNode)]
            if len(named) != 1:
                raise InvalidInput("say which model this is: give ?iri= (the body declares "
                                   f"{len(named)} owl:Ontology IRIs)")
            iri = named[0].value
        if version is None:
            infos = [v for o in ontologies for v in view.objects(o, OWL_VERSION_INFO)
                     if isinstance(v, Literal)]
            if not infos:
                raise InvalidInput("say which version this is: give ?version= or "
                                   "owl:versionInfo on the owl:Ontology")
            version = infos[0].value
        try:
            shapes = ShapesGraph(view)
        except ShapesError as error:
            raise UnprocessableContent(f"the model's shapes are not valid SHACL: {error}") \
                from None
        imports = sorted({o.value for s in ontologies for o in view.objects(s, OWL_IMPORTS)
                          if isinstance(o, NamedNode)})
        known = known | {r.iri for r in self.records()}
        missing = [i for i in imports if i not in known and i != iri]
        if missing:
            raise UnprocessableContent(
                f"owl:imports not found among the server's models: {', '.join(missing)} "
                "(imports are never fetched from the network; upload them first)")
        graph = model_graph(iri, version)
        if any(r.graph == graph.value for r in self.records(iri)):
            raise Conflict(f"{iri} version {version} exists; versions are immutable, "
                           "upload a new version")
        record = ModelRecord(iri, version, "draft", graph.value, len(quads), etag,
                             tuple(imports), unsupported=tuple(sorted(
                                 shapes.unsupported | ({"sparql"} if shapes.unbounded_sparql()
                                                       else set()))))
        changeset = Changeset(
            event_type="model.uploaded", subject=graph,
            add=[*(Quad(q.subject, q.predicate, q.object, graph) for q in quads),
                 *self._meta(record)],
            new_etag=etag, precondition=Precondition(graph, must_not_exist=True),
            data={"iri": iri, "version": version, "triples": len(quads)}, validate=False)
        return record, changeset

    def _meta(self, record: ModelRecord) -> list[Quad]:
        graph = NamedNode(record.graph)
        st = {name: NamedNode(ST + name) for name in _FIELDS}
        quads = [Quad(graph, st["modelIri"], NamedNode(record.iri), META),
                 Quad(graph, st["version"], Literal(record.version), META),
                 Quad(graph, st["status"], Literal(record.status), META),
                 Quad(graph, st["triples"], Literal(str(record.triples)), META)]
        quads += [Quad(graph, st["imports"], NamedNode(i), META) for i in record.imports]
        return quads

    def impact(self, iri: str, version: str) -> dict[str, Any]:
        """What activating this version would find: the existing data's violations of its
        shapes (a dry run; nothing is written). Violations of other models' shapes are theirs
        and do not count against this one."""
        record = self.get(iri, version)
        view = MemoryGraph(self.content(record))
        report = Validator(ShapesGraph(view), data_view(self._store),
                           stored_form=self._store.stored_form).validate_all()
        current = [r for r in self.records(iri) if r.status == ACTIVE and r.graph != record.graph]
        compatibility = None
        if current:
            changes = diff_models(MemoryGraph(self.content(current[0])), view).json()
            compatibility = {**changes, "changes": changes["changes"][:100]}
        return {"model": record.json(),
                "replaces": current[0].json() if current else None,
                "breaking": bool(report.violations),
                "violations": len(report.violations),
                "focusNodes": report.focus_nodes,
                "compatibility": compatibility,
                "report": report_json(report)}

    def set_status(self, iri: str, version: str, status: str, *, force: bool = False,
                   reason: str | None = None, actor: str | None = None,
                   request_id: str | None = None, check_impact: bool = True) -> dict[str, Any]:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        record = self.get(iri, version)
        if status == record.status:
            return {"model": record.json()}
        if status not in TRANSITIONS[record.status]:
            raise Conflict(f"a {record.status} model cannot become {status}")
        data: dict[str, Any] = {"iri": iri, "version": version, "from": record.status,
                                "to": status}
        impact, head = None, 0
        if status == ACTIVE and check_impact:
            # the dry run reads the whole store outside the write lock; under it, a change
            # committed meanwhile (validated against the shapes active then) has it run again
            head = self._pipeline.journal_head()
            impact = self.impact(iri, version)
        with self._pipeline.exclusive():
            if impact is not None and self._pipeline.journal_head() != head:
                impact = self.impact(iri, version)
            if impact is not None:
                if impact["breaking"]:
                    if not force:
                        raise Conflict(
                            f"activating {iri} {version} would leave {impact['violations']} "
                            "violation(s) in existing data; fix the data or force with a reason",
                            impact=impact)
                    if not reason:
                        raise InvalidInput("a forced activation needs a reason")
                    data.update(forced=True, reason=reason, violations=impact["violations"])
                if impact["compatibility"] is not None:
                    data["compatible"] = impact["compatibility"]["compatible"]
            changes = [self._status_change(record, status)]
            if status == ACTIVE:
                changes += [self._status_change(other, "deprecated")
                            for other in self.records(iri)
                            if other.status == ACTIVE and other.graph != record.graph]
            for change in changes:
                change.data.update(data)
                change.actor, change.request_id = actor, request_id
            self._pipeline.commit_all(changes)  # the new version and the one it replaces
        result: dict[str, Any] = {"model": self.get(iri, version).json()}
        if impact is not None:
            result["impact"] = {k: impact[k] for k in ("breaking", "violations", "focusNodes")}
            if impact["compatibility"] is not None:
                result["impact"]["compatible"] = impact["compatibility"]["compatible"]
        return result

    def _status_change(self, record: ModelRecord, status: str) -> Changeset:
        updated = ModelRecord(record.iri, record.version, status, record.graph, record.triples,
                              record.etag, record.imports)
        return Changeset(event_type=f"model.{status}", subject=NamedNode(record.graph),
                         add=self._meta(updated), new_etag=record.etag,
                         precondition=Precondition(NamedNode(record.graph),
                                                   if_match=record.etag),
                         data={}, validate=False)

    def delete(self, iri: str, version: str, *, actor: str | None = None,
               request_id: str | None = None) -> None:
        with self._pipeline.exclusive():  # no import or instance may appear meanwhile
            self._delete_locked(iri, version, actor, request_id)

    def _delete_locked(self, iri: str, version: str, actor: str | None,
                       request_id: str | None) -> None:
        record = self.get(iri, version)
        if record.status == ACTIVE:
            raise Conflict("an active model cannot be deleted; deprecate it first")
        dependants = [r for r in self.records() if iri in r.imports and r.iri != iri]
        if dependants:
            raise Conflict("other models import it: " + ", ".join(
                f"{r.iri} {r.version}" for r in dependants))
        graph = NamedNode(record.graph)
        view = data_view(self._store)
        for kind in (OWL_CLASS, RDFS_CLASS):
            for q in self._store.quads(None, RDF_TYPE, kind, graph):
                cls = q.subject
                if isinstance(cls, NamedNode) and any(
                        isinstance(s, NamedNode) for s in view.subjects(RDF_TYPE, cls)):
                    raise Conflict(f"twins are instances of its class {cls.value}")
        self._pipeline.commit(Changeset(
            event_type="model.deleted", subject=graph, clear_graphs=[graph],
            precondition=Precondition(graph, if_match=record.etag),
            data={"iri": iri, "version": version}, actor=actor, request_id=request_id,
            validate=False))

    def ensure_core(self, dirs: tuple[Path, ...] = CORE_DIRS) -> list[ModelRecord]:
        """Load and activate the repo's own ontologies and shapes (once per version)."""
        loaded = []
        known = {(r.iri, r.version) for r in self.records()}
        for directory in dirs:
            if not directory.is_dir():
                log.warning("core models not found in %s", directory)
                continue
            for path in sorted(directory.glob("*.ttl")):
                body = path.read_bytes()
                view = MemoryGraph(parse_rdf(body, format_for_path(path.name),
                                             source=path.name))
                onto = [o for o in view.subjects(RDF_TYPE, OWL_ONTOLOGY)
                        if isinstance(o, NamedNode)]
                version = [v for o in onto for v in view.objects(o, OWL_VERSION_INFO)]
                if not onto or not version:
                    raise InvalidInput(f"{path} needs an owl:Ontology with owl:versionInfo")
                if (onto[0].value, version[0].value) in known:  # type: ignore[union-attr]
                    continue
                record = self.upload(body, format_for_path(path.name), source=path.name,
                                     actor="semtwin")
                # the server's own models: no impact dry run over a store that may be big
                self.set_status(record.iri, record.version, ACTIVE, actor="semtwin",
                                check_impact=False)
                loaded.append(record)
        return loaded
