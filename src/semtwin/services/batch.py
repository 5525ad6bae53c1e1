"""``POST /api/v1/batch``: many twin and relationship operations in one all-or-nothing
transaction. Each operation is planned as its own changeset (with its own journal event);
the pipeline commits them in one update request after validating their combined effect, so
either every precondition holds and everything is written, or nothing is."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from semtwin.errors import Conflict, InvalidInput, NotFound, SemtwinError, UnprocessableContent
from semtwin.rdf import NamedNode
from semtwin.services.pipeline import Changeset, WritePipeline
from semtwin.services.relationships import RelationshipService
from semtwin.services.twins import (
    PlannedWrite,
    TwinService,
    apply_patch,
    json_object,
    twin_content,
)

MAX_OPERATIONS = 1000
_OPERATION_MEMBERS = {"op", "id", "twin", "patch", "mergePatch", "ifMatch", "ifNoneMatch",
                      "cascade", "relationshipId", "relationship"}
OPERATIONS = ("put", "patch", "delete", "putRelationship", "deleteRelationship")


@dataclass
class _Earlier:
    """What the operations before the one being planned do (their preconditions are all
    checked against the store as it was before the batch, so a later operation must be
    planned against what they leave)."""

    created_twins: set[str] = field(default_factory=set)
    deleted_twins: set[str] = field(default_factory=set)
    removed_graphs: set[str] = field(default_factory=set)
    written_links: dict[str, set[str]] = field(default_factory=dict)
    """Relationship graph written by an earlier operation: the twin ids it links after it
    (its source and its target)."""

    def linking(self, twin_id: str) -> str | None:
        """The first relationship an earlier operation wrote that links the twin."""
        return next((rel for rel, ends in self.written_links.items() if twin_id in ends),
                    None)


class BatchService:
    def __init__(self, pipeline: WritePipeline, twins: TwinService,
                 relationships: RelationshipService) -> None:
        self._pipeline = pipeline
        self._twins = twins
        self._relationships = relationships

    def apply(self, body: Any, *, actor: str | None = None, request_id: str | None = None,
              idempotency_key: str | None = None, limit: int = MAX_OPERATIONS,
              extra: Sequence[Changeset] = ()) -> dict[str, Any]:
        """Plan every operation, then commit them (and ``extra`` changesets, such as an
        import's provenance) in one transaction."""
        body = json_object(body, {"operations"}, "a batch")
        operations = body.get("operations")
        if not isinstance(operations, list) or not operations:
            raise InvalidInput('a batch is {"operations": [...]} with at least one operation')
        if len(operations) > limit:
            raise InvalidInput(f"a batch holds at most {limit} operations")
        batch_id = uuid.uuid4().hex
        planned: list[tuple[Changeset, PlannedWrite | None, int]] = []
        earlier = _Earlier()
        touched: set[str] = set()
        for index, raw in enumerate(operations):
            try:
                changeset, write, status = self._plan(raw, earlier)
            except SemtwinError as err:
                err.extra["operation"] = index
                err.detail = f"operation {index}: {err.detail}"
                raise
            # a cascade delete's relationships count: deleted by it and written or deleted
            # by another operation, a relationship would have two events
            for subject in (changeset.subject, *(c.subject for c in changeset.companions)):
                if subject.value in touched:
                    raise InvalidInput(f"operation {index}: {subject.value} is changed twice "
                                       "in one batch; combine the changes")
                touched.add(subject.value)
            changeset.data["batch"] = {"id": batch_id, "index": index, "size": len(operations)}
            changeset.actor, changeset.request_id = actor, request_id
            changeset.batched = len(operations) > 1
            planned.append((changeset, write, status))
        planned[0][0].idempotency_key = idempotency_key
        committed = self._pipeline.commit_all([*(cs for cs, _, _ in planned), *extra])
        results = []
        for (_changeset, write, status), done in zip(planned, committed[:len(planned)],
                                                      strict=True):
            if write is not None:  # as committed: a create may have met a twin made meanwhile
                status = 201 if write.created else 200
            result: dict[str, Any] = {"status": status, "sequence": done.seq}
            if write is not None:
                result["body"] = write.document(done.time).body
                result["$etag"] = write.etag
            results.append(result)
        return {"batch": batch_id, "results": results}

    def _plan(self, raw: Any, earlier: _Earlier
              ) -> tuple[Changeset, PlannedWrite | None, int]:
        op = json_object(raw, _OPERATION_MEMBERS, "a batch operation")
        kind, twin_id = op.get("op"), op.get("id")
        if kind not in OPERATIONS:
            raise InvalidInput(f"op must be one of {', '.join(OPERATIONS)}")
        if not isinstance(twin_id, str):
            raise InvalidInput("id (the twin id) is required")
        if_match = op.get("ifMatch")
        if if_match is not None and not isinstance(if_match, str):
            raise InvalidInput("ifMatch is an ETag string")
        if_match = if_match.strip('"') if isinstance(if_match, str) else None
        if kind == "put":
            iri = self._twins.iri(twin_id)
            quads = self._twins.to_quads(twin_id, iri, op.get("twin", {}))
            try:
                before = self._twins.get(twin_id)
            except NotFound:
                before = None
            write = self._twins.plan_put(twin_id, iri, quads, before, if_match=if_match,
                                         if_none_match=op.get("ifNoneMatch") == "*")
            if write.created:
                earlier.created_twins.add(twin_id)
            return write.changeset, write, 201 if write.created else 200
        if kind == "patch":
            current = self._twins.get(twin_id)
            merge = "mergePatch" in op
            patch = op.get("mergePatch") if merge else op.get("patch")
            patched = apply_patch("merge" if merge else "json", twin_content(current.body),
                                  patch)
            iri = self._twins.iri(twin_id)
            write = self._twins.plan_put(
                twin_id, iri, self._twins.to_quads(twin_id, iri, patched), current,
                if_match=if_match or current.etag, if_none_match=False)
            return write.changeset, write, 200
        if kind == "delete":
            twin_iri = self._twins.iri(twin_id)
            cascade = op.get("cascade") is True
            linked_by = earlier.linking(twin_id)
            if linked_by is not None:
                raise Conflict(f"{twin_iri.value} is linked by {linked_by}, "
                               "written earlier in this batch; delete the twin before "
                               "writing relationships to it, or in another batch")
            # what earlier operations remove, or retarget away from this twin
            removed = set(earlier.removed_graphs) | {
                graph for graph, ends in earlier.written_links.items() if twin_id not in ends}

            def relationships() -> list[NamedNode] | None:
                existing = self._relationships.relationship_graphs(twin_iri, direction="both")
                if cascade:
                    return [g for g in existing if g.value not in removed]
                if all(g.value in removed for g in existing):
                    return []  # earlier operations of this batch remove them all
                return None

            changeset = self._twins.plan_delete(twin_id, if_match=if_match,
                                                relationships=relationships)
            earlier.removed_graphs.update(c.subject.value for c in changeset.companions)
            earlier.deleted_twins.add(twin_id)
            return changeset, None, 204
        rel_id = op.get("relationshipId")
        if not isinstance(rel_id, str):
            raise InvalidInput("relationshipId is required")
        if kind == "putRelationship":
            if twin_id in earlier.deleted_twins or (
                    twin_id not in earlier.created_twins and self._pipeline.current_etag(
                        self._twins.iri(twin_id)) is None):
                raise NotFound(f"no twin {twin_id!r}")
            relationship = op.get("relationship")
            target = relationship.get("$targetId") if isinstance(relationship, dict) else None
            if target in earlier.deleted_twins:
                raise UnprocessableContent(f"the target twin {target!r} is deleted earlier "
                                           "in this batch")
            write = self._relationships.plan_put(
                twin_id, rel_id, relationship, if_match=if_match,
                if_none_match=op.get("ifNoneMatch") == "*",
                target_planned=target in earlier.created_twins,
                source_planned=twin_id in earlier.created_twins)
            rel = write.changeset.subject.value
            earlier.written_links[rel] = {twin_id, *([target] if isinstance(target, str) else [])}
            return write.changeset, write, 201 if write.created else 200
        changeset = self._relationships.plan_delete(twin_id, rel_id, if_match=if_match)
        earlier.removed_graphs.add(changeset.subject.value)
        return changeset, None, 204
