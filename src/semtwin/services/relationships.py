"""Relationships with their own id, name, target and properties.

Each relationship lives in its own named graph ``{source IRI}/relationships/{id}``, holding
the plain triple ``source name target`` (so SPARQL sees it directly) and a description of
the relationship resource (``st:Relationship`` with source, name, target and properties).
Replacing a twin therefore leaves its relationships alone; changing a target is a PUT.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from semtwin.errors import InvalidInput, NotFound, PreconditionFailed
from semtwin.rdf import Literal, NamedNode, Quad
from semtwin.services.paging import Page, decode_cursor, encode_cursor
from semtwin.services.pipeline import META, ST, Changeset, Precondition, WritePipeline
from semtwin.services.twins import (
    PlannedWrite,
    TwinDocument,
    TwinService,
    apply_patch,
    content_patch,
    json_object,
)
from semtwin.store import SelectResult, TwinStore

RELATIONSHIP = NamedNode(f"{ST}Relationship")
SOURCE, NAME, TARGET = NamedNode(f"{ST}source"), NamedNode(f"{ST}name"), NamedNode(f"{ST}target")
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_MEMBERS = {"$relationshipId", "$sourceId", "$relationshipName", "$targetId", "properties",
            "$etag"}


def _content(relationship: dict[str, Any]) -> dict[str, Any]:
    """What a relationship's writer sets (its patches apply to this)."""
    return {k: relationship[k] for k in ("$relationshipName", "$targetId", "properties")}


class RelationshipService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline, twins: TwinService) -> None:
        self._store = store
        self._pipeline = pipeline
        self._twins = twins

    def iri(self, twin_id: str, rel_id: str) -> NamedNode:
        self._twins.iri(rel_id)  # same character rules as twin ids
        source = self._twins.iri(twin_id)
        return NamedNode(f"{source.value}/relationships/{quote(rel_id, safe='-._~')}")

    def put(self, twin_id: str, rel_id: str, body: Any, *, if_match: str | None = None,
            if_none_match: bool = False, actor: str | None = None,
            request_id: str | None = None,
            idempotency_key: str | None = None) -> tuple[TwinDocument, bool]:
        source = self._twins.iri(twin_id)
        if self._pipeline.current_etag(source) is None:
            raise NotFound(f"no twin {twin_id!r}")
        planned = self.plan_put(twin_id, rel_id, body, if_match=if_match,
                                if_none_match=if_none_match)
        changeset = planned.changeset
        committed = self._pipeline.commit(changeset, actor=actor, request_id=request_id,
                                          idempotency_key=idempotency_key)
        return planned.document(committed.time), planned.created

    def patch(self, twin_id: str, rel_id: str, kind: str, patch: Any, *,
              if_match: str | None = None, actor: str | None = None,
              request_id: str | None = None,
              idempotency_key: str | None = None) -> TwinDocument:
        """Patch the ``{"$relationshipName", "$targetId", "properties"}`` document; the
        write is conditioned on the ETag the patch was applied to (the target may change).
        Without ``if_match`` the patch is applied again under the write lock if the
        relationship changed since it was read, as for twins."""
        current = self.get(twin_id, rel_id)
        if if_match is not None and current.etag != if_match:
            raise PreconditionFailed(
                f"the relationship changed: its ETag is {current.etag}, not {if_match}",
                etag=current.etag)

        def planned_on(version: TwinDocument) -> PlannedWrite:
            patched = apply_patch(kind, _content(version.body), patch)
            return self.plan_put(twin_id, rel_id, patched, if_match=version.etag,
                                 current=version)

        planned = planned_on(current)
        if if_match is None:
            planned.changeset.rebase = planned.replanned_by(
                lambda: planned_on(self.get(twin_id, rel_id)))
        committed = self._pipeline.commit(planned.changeset, actor=actor, request_id=request_id,
                                          idempotency_key=idempotency_key)
        return planned.document(committed.time)

    def plan_put(self, twin_id: str, rel_id: str, body: Any, *, if_match: str | None = None,
                 if_none_match: bool = False, target_planned: bool = False,
                 source_planned: bool = False,
                 current: TwinDocument | None = None) -> PlannedWrite:
        """The changeset that creates or replaces a relationship. Its source and target
        twins must exist when it commits (a condition of the update, so a twin deleted
        meanwhile is not left with a relationship); ``source_planned``/``target_planned``:
        that twin is created by the same transaction, so its existence is no condition.
        ``current``: the stored relationship, when the caller has just read it."""
        body = json_object(body, _MEMBERS, "a relationship")
        for key in ("$relationshipName", "$targetId"):
            if not isinstance(body.get(key), str):
                raise InvalidInput(f"{key} is required (a string)")
        source = self._twins.iri(twin_id)
        rel = self.iri(twin_id, rel_id)
        name = self._twins.expand(body["$relationshipName"], "$relationshipName")
        target = self._twins.iri(body["$targetId"])
        properties = self._twins.to_quads(rel_id, rel, {"properties": body.get("properties",
                                                                              {})})
        quads = [Quad(source, name, target, rel), Quad(rel, RDF_TYPE, RELATIONSHIP, rel),
                 Quad(rel, SOURCE, source, rel), Quad(rel, NAME, name, rel),
                 Quad(rel, TARGET, target, rel), *properties]
        etag = uuid.uuid4().hex
        document = self._to_json(rel, quads, etag)
        changeset = Changeset(event_type="relationship.created", subject=rel,
                              clear_graphs=[rel], add=quads, new_etag=etag)
        planned = PlannedWrite(changeset, document, etag, True)
        ids = {"$relationshipId": rel_id, "$sourceId": twin_id,
               "$relationshipName": body["$relationshipName"], "$targetId": body["$targetId"]}

        def against(version: TwinDocument | None) -> None:
            """What the change says about the version it replaces (as for twins: the event
            carries the new relationship, or a JSON Patch from the version replaced)."""
            planned.created = version is None
            changeset.event_type = ("relationship.created" if version is None
                                    else "relationship.updated")
            if version is None:
                changeset.data = {**ids, "relationship": _content(document)}
            else:
                changeset.data = {**ids, "patch": content_patch(_content(version.body),
                                                                _content(document))}
            changeset.known_content = (None if version is None or version.quads is None
                                       else (version.etag, rel, version.quads))
            changeset.precondition = Precondition(
                rel, if_match=(if_match if if_match is not None or version is None
                               else version.etag),
                must_not_exist=if_none_match or (version is None and if_match is None),
                others_exist=() if target_planned else (target,),
                owner=None if source_planned else source)

        before = current
        if before is None:
            try:
                before = self.get(twin_id, rel_id)
            except NotFound:
                before = None

        def rebase() -> None:
            try:
                against(self.get(twin_id, rel_id))
            except NotFound:
                against(None)

        against(before)
        if if_match is None and not if_none_match and before is not None:
            changeset.rebase = rebase
        return planned

    def get(self, twin_id: str, rel_id: str) -> TwinDocument:
        rel = self.iri(twin_id, rel_id)
        etag = self._pipeline.current_etag(rel)
        if etag is None:
            raise NotFound(f"no relationship {rel_id!r} of twin {twin_id!r}")
        quads = list(self._store.quads(graph=rel))  # after the ETag (``known_content``)
        return TwinDocument(self._to_json(rel, quads, etag), etag, quads)

    def _to_json(self, rel: NamedNode, quads: list[Quad], etag: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        properties: dict[str, list[Any]] = {}
        for quad in quads:
            if quad.subject != rel:
                continue
            if quad.predicate in (SOURCE, TARGET) and isinstance(quad.object, NamedNode):
                values[quad.predicate.value] = self._twins.id_of(quad.object.value)
            elif quad.predicate == NAME and isinstance(quad.object, NamedNode):
                values[NAME.value] = self._twins.compact(quad.object.value)
            elif quad.predicate != RDF_TYPE:
                key = self._twins.compact(quad.predicate.value)
                properties.setdefault(key, []).append(self._twins.value_to_json(quad.object))
        return {
            "$relationshipId": self._twins.relationship_ids(rel.value)["$relationshipId"],
            "$sourceId": values.get(SOURCE.value),
            "$relationshipName": values.get(NAME.value),
            "$targetId": values.get(TARGET.value),
            "properties": {k: v[0] if len(v) == 1 else v for k, v in sorted(properties.items())},
            "$etag": etag,
        }

    def relationship_graphs(self, twin_iri: NamedNode, *, direction: str,
                            name: str | None = None, after: str | None = None,
                            limit: int | None = None) -> list[NamedNode]:
        """The relationships of a twin in IRI order (``after`` one, at most ``limit``)."""
        link = SOURCE if direction == "out" else TARGET
        name_filter = ""
        if name is not None:
            name_filter = f"?rel {NAME} {self._twins.expand(name, 'name')} ."
        if direction == "both":
            pattern = f"{{ ?rel {SOURCE} {twin_iri} }} UNION {{ ?rel {TARGET} {twin_iri} }}"
        else:
            pattern = f"?rel {link} {twin_iri} ."
        start = "" if after is None else f"FILTER(STR(?rel) > {Literal(after)})"
        result = self._store.query(
            f"SELECT DISTINCT ?rel WHERE {{ GRAPH ?rel {{ ?rel a {RELATIONSHIP} . {pattern} "
            f"{name_filter} }} GRAPH {META} {{ ?rel <{ST}etag> ?etag }} {start} }} "
            f"ORDER BY STR(?rel){'' if limit is None else f' LIMIT {int(limit)}'}",
            union_default_graph=False)
        assert isinstance(result, SelectResult)
        return [row[0] for row in result.rows if isinstance(row[0], NamedNode)]

    def _existing(self, twin_id: str) -> NamedNode:
        twin = self._twins.iri(twin_id)
        if self._pipeline.current_etag(twin) is None:
            raise NotFound(f"no twin {twin_id!r}")
        return twin

    def _documents(self, rels: Sequence[NamedNode]) -> list[dict[str, Any]]:
        out = []
        for rel in rels:
            etag = self._pipeline.current_etag(rel)
            if etag is not None:  # deleted since the query
                out.append(self._to_json(rel, list(self._store.quads(graph=rel)), etag))
        return out

    def list(self, twin_id: str, *, direction: str, name: str | None = None
             ) -> list[dict[str, Any]]:
        """Every relationship of a twin (an export); clients page with ``page``."""
        twin = self._existing(twin_id)
        return self._documents(self.relationship_graphs(twin, direction=direction, name=name))

    def page(self, twin_id: str, *, direction: str, name: str | None = None,
             limit: int = 100, cursor: str | None = None) -> Page:
        """A page of a twin's relationships in IRI order, with a keyset cursor: a hub twin
        (a building with every space as a part) may have hundreds of thousands."""
        twin = self._existing(twin_id)
        after = decode_cursor(cursor) if cursor else None
        found = self.relationship_graphs(twin, direction=direction, name=name, after=after,
                                         limit=limit + 1)
        shown = found[:limit]
        more = len(found) > limit and bool(shown)
        return Page(self._documents(shown), encode_cursor(shown[-1].value) if more else None)

    def delete(self, twin_id: str, rel_id: str, *, if_match: str | None = None,
               actor: str | None = None, request_id: str | None = None,
               idempotency_key: str | None = None) -> None:
        changeset = self.plan_delete(twin_id, rel_id, if_match=if_match)
        self._pipeline.commit(changeset, actor=actor, request_id=request_id,
                              idempotency_key=idempotency_key)

    def plan_delete(self, twin_id: str, rel_id: str, *,
                    if_match: str | None = None) -> Changeset:
        rel = self.iri(twin_id, rel_id)
        return Changeset(
            event_type="relationship.deleted", subject=rel, clear_graphs=[rel],
            precondition=Precondition(rel, if_match=if_match, must_exist=True),
            data={"$relationshipId": rel_id, "$sourceId": twin_id})
