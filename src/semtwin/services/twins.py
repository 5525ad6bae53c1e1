"""Twins as JSON for apps; every twin stays an RDF resource in its own named graph.

JSON shape (docs/rest-api.md)::

    {"$id": "ahu-1", "$iri": "urn:twin:ahu-1", "$types": ["brick:Air_Handling_Unit"],
     "properties": {"rdfs:label": "AHU 1", "brick:ratedPower": {"@value": "5.5",
                    "@type": "xsd:decimal"}, "brick:feeds": {"@id": "urn:twin:vav-1"}},
     "$etag": "...", "$metadata": {"lastUpdateTime": "2026-11-25T17:00:00Z"}}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import jsonpatch
import jsonpointer

from semtwin.errors import InvalidInput, NotFound, PreconditionFailed, UnprocessableContent
from semtwin.jsontext import json_bytes
from semtwin.rdf import BlankNode, Literal, NamedNode, Quad, Term
from semtwin.services.pipeline import (
    ETAG,
    JOURNAL,
    META,
    ST,
    Changeset,
    Precondition,
    WritePipeline,
    canonical_time,
)
from semtwin.services.vocabulary import IRI_VALUES, ModelTerms
from semtwin.shacl.values import is_well_formed
from semtwin.store import TwinStore

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
_TOP_LEVEL = {"$id", "$iri", "$types", "properties", "$etag", "$metadata", "@context"}
_RACES = 3
"""Attempts of a write without a client precondition. Each is conditioned on the version it
replaces (its event's patch is relative to it) and brought up to the stored version under the
write lock (``Changeset.rebase``), so it loses a race only to another process writing the
same remote store."""
# The twin JSON's own members in its JSON-LD context (never prefixes)
_ENVELOPE: dict[str, str | None] = {"$iri": "@id", "$types": "@type", "properties": "@nest",
                                     "$id": None, "$etag": None, "$metadata": None}


def json_object(body: Any, members: set[str], what: str) -> dict[str, Any]:
    """``body`` as a JSON object with no members beyond ``members``, or 400 saying why."""
    if not isinstance(body, dict):
        raise InvalidInput(f"{what} is a JSON object")
    unknown = set(body) - members
    if unknown:
        raise InvalidInput(f"unknown member(s) {sorted(unknown)}; {what} has {sorted(members)}")
    return body


@dataclass(frozen=True)
class TwinDocument:
    body: dict[str, Any]
    etag: str
    quads: Sequence[Quad] | None = field(default=None, repr=False, compare=False)
    """The twin's graph as read after its ETag, when read from the store."""


_UPDATED = NamedNode(f"{ST}updated")
JSON_INT_MIN, JSON_INT_MAX = -(2**63), 2**63 - 1
"""Integers a twin shows as JSON numbers (64-bit, DTDL's ``long``); beyond, a value object
with the exact lexical form, since JSON libraries (and orjson) do not carry them exactly."""
_PROPERTY_TIMES = NamedNode(f"{ST}propertyTimes")


def _property_metadata(body: dict[str, Any], times: dict[str, str]) -> None:
    """``$metadata.properties``: each property's last update time (ADT's per-property
    ``lastUpdateTime``)."""
    body["$metadata"]["properties"] = {
        key: {"lastUpdateTime": times[key]} for key in body["properties"] if key in times}


class TwinService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline, base: str,
                 prefixes: dict[str, str],
                 model_terms: Callable[[bool], ModelTerms] = lambda fresh: ModelTerms()
                 ) -> None:
        """``model_terms(fresh)``: what the active models say about property values and
        prefixes (``fresh=False`` may answer from a cache up to a second old)."""
        self._store = store
        self._pipeline = pipeline
        self._base = base
        self._prefixes = prefixes
        self._model_terms = model_terms
        self._merged: tuple[ModelTerms, dict[str, str]] | None = None

    # --- identity -------------------------------------------------------------------------

    def iri(self, twin_id: str) -> NamedNode:
        if not twin_id or len(twin_id) > 256 or any(c in twin_id for c in "/?#<>\" {}|\\^`"):
            raise InvalidInput(f"twin id {twin_id!r} must be 1-256 characters without "
                               "'/', '?', '#', spaces or quotes")
        return NamedNode(self._base + quote(twin_id, safe="-._~:@!$&'()*+,;="))

    def id_of(self, iri: str) -> str:
        return unquote(iri[len(self._base):]) if iri.startswith(self._base) else iri

    def is_twin_iri(self, iri: str) -> bool:
        """Whether ``iri`` is a twin's as this API names them (``{base}{id}``): relationships
        (``{twin}/relationships/{id}``) and model versions carry ETags too, but not this form."""
        rest = iri[len(self._base):]
        return iri.startswith(self._base) and bool(rest) and not any(c in rest for c in "/?#")

    def twin_iri_filter(self, var: str) -> str:
        """``is_twin_iri`` as a SPARQL filter on ``var``."""
        base = Literal(self._base)
        return (f"FILTER(STRSTARTS(STR({var}), {base}) && "
                f"!REGEX(STRAFTER(STR({var}), {base}), \"^$|[/?#]\"))")

    def expand(self, name: str, where: str,
               prefixes: Mapping[str, str] | None = None) -> NamedNode:
        """An IRI, or a CURIE with a known prefix (the predeclared ones, or ``prefixes``)."""
        prefixes = self._prefixes if prefixes is None else prefixes
        prefix, sep, local = name.partition(":")
        if sep and prefix in prefixes and not local.startswith("//"):
            name = prefixes[prefix] + local
        if ":" not in name:
            raise InvalidInput(f"{where}: {name!r} is neither an absolute IRI nor a known "
                               f"prefixed name ({', '.join(sorted(prefixes))})")
        try:
            return NamedNode(name)
        except ValueError as err:
            raise InvalidInput(f"{where}: {name!r} is not a valid IRI: {err}") from None

    def compact(self, iri: str) -> str:
        for prefix, namespace in self._prefixes.items():
            if iri.startswith(namespace) and iri[len(namespace):].replace("_", "a").isalnum():
                return f"{prefix}:{iri[len(namespace):]}"
        return iri

    # --- reads ----------------------------------------------------------------------------

    def get(self, twin_id: str) -> TwinDocument:
        iri = self.iri(twin_id)
        etag, updated, times = self._metadata_all(iri)
        if etag is None:
            raise NotFound(f"no twin {twin_id!r}")
        quads = list(self._store.quads(graph=iri))  # after the ETag (``known_content``)
        body = self._to_json(twin_id, iri, quads, etag, updated)
        _property_metadata(body, times)
        return TwinDocument(body, etag, quads)

    def get_by_iri(self, iri_text: str) -> TwinDocument:
        """Any resource as a twin, including ones loaded from files: an API twin by its
        graph, anything else by its statements in every graph (ETag: a hash of them)."""
        try:
            iri = NamedNode(iri_text)
        except ValueError as err:
            raise InvalidInput(f"iri {iri_text!r} is not a valid IRI: {err}") from None
        twin_id = self.id_of(iri.value)
        if iri.value.startswith(self._base) and self._metadata(iri)[0] is not None:
            return self.get(twin_id)
        quads = [q for q in self._store.quads(subject=iri) if q.graph_name not in (META, JOURNAL)]
        if not quads:
            raise NotFound(f"nothing is said about {iri.value}")
        digest = hashlib.sha256("\n".join(sorted(str(q) for q in quads)).encode())
        etag = digest.hexdigest()[:32]
        body = self._to_json(twin_id, iri, quads, etag, None)
        body["$metadata"]["loaded"] = True
        return TwinDocument(body, etag)

    def _metadata(self, iri: NamedNode) -> tuple[str | None, str | None]:
        etag, updated, _times = self._metadata_all(iri)
        return etag, updated

    def _metadata_all(self, iri: NamedNode) -> tuple[str | None, str | None, dict[str, str]]:
        """The twin's ETag, last update time and per-property update times: one pattern
        read, no query to parse. On a store whose readers can see an update half done, a
        twin found without an ETag is read once more before it counts as missing."""
        found = self._metadata_read(iri)
        if found[0] is None and not self._store.capabilities.extra.get("isolated_reads", True):
            found = self._metadata_read(iri)
        return found

    def _metadata_read(self, iri: NamedNode) -> tuple[str | None, str | None, dict[str, str]]:
        etag = updated = None
        times: dict[str, str] = {}
        for quad in self._store.quads(iri, None, None, META):
            if not isinstance(quad.object, Literal):
                continue
            if quad.predicate == ETAG:
                etag = quad.object.value
            elif quad.predicate == _UPDATED:
                updated = canonical_time(quad.object.value)
            elif quad.predicate == _PROPERTY_TIMES:
                times = json.loads(quad.object.value)
        return (etag, updated, times) if etag is not None else (None, None, {})

    def _to_json(self, twin_id: str, iri: NamedNode, quads: Iterable[Quad], etag: str,
                 updated: str | None) -> dict[str, Any]:
        types: list[str] = []
        properties: dict[str, list[Any]] = {}
        coercions = self._model_terms(False).coercions
        for quad in quads:
            if quad.subject != iri:
                continue
            if quad.predicate.value == RDF_TYPE and isinstance(quad.object, NamedNode):
                types.append(self.compact(quad.object.value))
            else:
                key = self.compact(quad.predicate.value)
                properties.setdefault(key, []).append(self.value_to_json(
                    quad.object, coercions.get(quad.predicate.value)))
        return {
            "$id": twin_id,
            "$iri": iri.value,
            "$types": sorted(types),
            "properties": {k: v[0] if len(v) == 1 else sorted(v, key=repr)
                           for k, v in sorted(properties.items())},
            "$etag": etag,
            "$metadata": {"lastUpdateTime": updated},
        }

    def value_to_json(self, term: Term, coercion: str | None = None) -> Any:
        """A value in the compact JSON. ``coercion`` is what the JSON-LD context makes of a
        plain JSON value under this property: a literal it would misread is written out as
        an explicit value object."""
        if isinstance(term, NamedNode):
            return {"@id": self.compact(term.value)}
        if isinstance(term, BlankNode):
            return {"@id": f"_:{term.value}"}
        if isinstance(term, Literal):
            if term.language:
                return {"@value": term.value, "@language": term.language}
            datatype = term.datatype.value
            if coercion is not None and coercion != datatype:
                return {"@value": term.value, "@type": self.compact(datatype)}
            try:
                if datatype == f"{XSD}string":
                    return term.value
                if datatype == f"{XSD}integer":
                    number = int(term.value)
                    if JSON_INT_MIN <= number <= JSON_INT_MAX:
                        return number
                elif datatype == f"{XSD}double":
                    real = float(term.value)
                    if math.isfinite(real):  # NaN and infinities are no JSON numbers
                        return real
                if datatype == f"{XSD}boolean":
                    return term.value in ("true", "1")
            except ValueError:
                pass
            return {"@value": term.value, "@type": self.compact(datatype)}
        return {"@value": str(term)}

    # --- writes ---------------------------------------------------------------------------

    def json_ld_context(self) -> dict[str, Any]:
        """A JSON-LD 1.1 context that makes the compact twin JSON valid JSON-LD: ``$iri`` is
        the node's ``@id``, ``$types`` its ``@type``, ``properties`` is nested, ids, ETags
        and metadata are not data; the predeclared prefixes and the active models' own
        apply, and every property the models type gets a term: ``@type: @id`` for IRI
        values, its datatype for literals, so plain JSON values mean what the models say."""
        terms = self._model_terms(True)
        context: dict[str, Any] = {"@version": 1.1, **_ENVELOPE}
        prefixes = self._merged_prefixes(terms)
        context |= dict(sorted(prefixes.items()))
        for prop, coercion in sorted(terms.coercions.items()):
            # JSON-LD coerces by the key as written: define every form the API accepts
            keys = [prop] + [f"{prefix}:{prop[len(namespace):]}"
                             for prefix, namespace in prefixes.items()
                             if prop.startswith(namespace) and len(prop) > len(namespace)]
            for key in keys:
                if key not in context:
                    context[key] = {"@id": prop, "@type": coercion}
        return context

    def _merged_prefixes(self, terms: ModelTerms) -> dict[str, str]:
        """The models' prefixes, then the predeclared ones (which win); merged once per
        version of the active models' terms (every twin write asks)."""
        merged = self._merged
        if merged is not None and merged[0] is terms:
            return merged[1]
        prefixes = {**{p: ns for p, ns in terms.prefixes.items() if p not in _ENVELOPE},
                    **self._prefixes}
        self._merged = (terms, prefixes)
        return prefixes

    def rdf_quads(self, twin_id: str, triples: Iterable[Quad]) -> list[Quad]:
        """A twin sent as RDF (Turtle, N-Triples): every statement must be about the twin
        itself; they go into its graph."""
        iri = self.iri(twin_id)
        quads = []
        for q in triples:
            if q.subject != iri:
                raise InvalidInput(f"a twin sent as RDF describes only the twin <{iri.value}>, "
                                   f"not {q.subject}")
            quads.append(Quad(q.subject, q.predicate, q.object, iri))
        return quads

    def put_quads(self, twin_id: str, quads: list[Quad], **kwargs: Any
                  ) -> tuple[TwinDocument, bool]:
        """Create or replace a twin with RDF statements (see ``put``)."""
        return self.put(twin_id, None, quads=quads, **kwargs)

    def to_quads(self, twin_id: str, iri: NamedNode, body: Any) -> list[Quad]:
        body = json_object(body, _TOP_LEVEL, "a twin")
        if "$id" in body and body["$id"] != twin_id:
            raise InvalidInput(f"$id {body['$id']!r} does not match the twin id {twin_id!r}")
        quads: list[Quad] = []
        terms = self._model_terms(False)
        prefixes = self._merged_prefixes(terms)
        types = body.get("$types", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise InvalidInput("$types must be a list of IRIs")
        for index, name in enumerate(types):
            quads.append(Quad(iri, NamedNode(RDF_TYPE),
                              self.expand(name, f"$types[{index}]", prefixes), iri))
        properties = body.get("properties", {})
        if not isinstance(properties, dict):
            raise InvalidInput("properties must be an object")
        for key, value in properties.items():
            predicate = self.expand(key, f"properties.{key}", prefixes)
            coercion = terms.coercions.get(predicate.value)
            values = value if isinstance(value, list) else [value]
            for index, item in enumerate(values):
                where = f"properties.{key}" + (f"[{index}]" if isinstance(value, list) else "")
                quads.append(Quad(iri, predicate,
                                  self._value_from_json(item, where, coercion, prefixes), iri))
        return quads

    def _value_from_json(self, value: Any, where: str, coercion: str | None = None,
                         prefixes: Mapping[str, str] | None = None) -> Term:
        """A JSON value as an RDF term, read as a JSON-LD processor reads it under the
        context: a plain value under a property the models type takes that type."""
        if coercion == IRI_VALUES and isinstance(value, str):
            return self.expand(value, where, prefixes)
        if coercion is not None and coercion != IRI_VALUES and isinstance(
                value, str | int | float | bool):
            lexical = (("true" if value else "false") if isinstance(value, bool)
                       else value if isinstance(value, str) else repr(value))
            literal = Literal(lexical, datatype=NamedNode(coercion))
            if not is_well_formed(literal):
                # the client did not choose this type, the models did: say so now rather
                # than store an ill-typed literal (or answer a shape's report about one)
                raise InvalidInput(
                    f"{where}: {json.dumps(value)} is not a valid {self.compact(coercion)}, "
                    "the type "
                    "the active models give this property; send a value of that type, or "
                    '{"@value": ..., "@type": ...} to state another one')
            return literal
        if isinstance(value, bool):
            return Literal(value)
        if isinstance(value, int):
            return Literal(value)
        if isinstance(value, float):
            return Literal(value)
        if isinstance(value, str):
            return Literal(value)
        if isinstance(value, dict):
            if set(value) == {"@id"} and isinstance(value["@id"], str):
                return self.expand(value["@id"], where, prefixes)
            if "@value" in value and isinstance(value["@value"], str):
                if set(value) == {"@value", "@language"}:
                    return Literal(value["@value"], language=str(value["@language"]))
                if set(value) == {"@value", "@type"}:
                    return Literal(value["@value"],
                                   datatype=self.expand(str(value["@type"]), where, prefixes))
                if set(value) == {"@value"}:
                    return Literal(value["@value"])
        raise InvalidInput(f"{where}: {value!r} is not a twin value (a string, number, boolean, "
                           '{"@id": IRI}, {"@value", "@type"} or {"@value", "@language"})')

    def put(self, twin_id: str, body: Any, *, if_match: str | None = None,
            if_none_match: bool = False, actor: str | None = None,
            request_id: str | None = None,
            idempotency_key: str | None = None,
            quads: list[Quad] | None = None) -> tuple[TwinDocument, bool]:
        """Create or replace; returns the stored twin and whether it was created.

        Without a client precondition a lost race (the twin written, created or deleted
        meanwhile by another process) is retried, up to ``_RACES`` times.
        """
        iri = self.iri(twin_id)
        if quads is None:
            quads = self.to_quads(twin_id, iri, body)
        for attempt in range(_RACES):
            before = None
            if not if_none_match:  # a create only: the commit's condition says if it exists
                with contextlib.suppress(NotFound):
                    before = self.get(twin_id)
            try:
                return self._put_once(twin_id, iri, quads, before, if_match=if_match,
                                      if_none_match=if_none_match, actor=actor,
                                      request_id=request_id, idempotency_key=idempotency_key)
            except (PreconditionFailed, NotFound):
                if if_match is not None or if_none_match or attempt == _RACES - 1:
                    raise
        raise AssertionError("unreachable")

    def _put_once(self, twin_id: str, iri: NamedNode, quads: list[Quad],
                  before: TwinDocument | None, *, if_match: str | None, if_none_match: bool,
                  actor: str | None, request_id: str | None,
                  idempotency_key: str | None = None) -> tuple[TwinDocument, bool]:
        """Replace the twin that was ``before`` (None: create it) with ``quads``; the stored
        twin is returned as written, without reading it back."""
        planned = self.plan_put(twin_id, iri, quads, before, if_match=if_match,
                                if_none_match=if_none_match)
        changeset = planned.changeset
        committed = self._pipeline.commit(changeset, actor=actor, request_id=request_id,
                                          idempotency_key=idempotency_key)
        return planned.document(committed.time), planned.created

    def plan_put(self, twin_id: str, iri: NamedNode, quads: list[Quad],
                 before: TwinDocument | None, *, if_match: str | None,
                 if_none_match: bool) -> PlannedWrite:
        """The changeset that replaces ``before`` (None: creates the twin) with ``quads``.

        What it says about the version it replaces (its event's patch, the update times it
        keeps, its precondition) is relative to ``before``; without a client precondition
        it is brought up to the stored version under the write lock, so that a concurrent
        write between this read and the commit neither fails it nor leaves the change feed
        a patch against a version that is no longer the previous one."""
        etag = secrets.token_hex(16)
        new_json = self._to_json(twin_id, iri, quads, etag, None)
        changeset = Changeset(event_type="twin.created", subject=iri, clear_graphs=[iri],
                              add=quads, new_etag=etag)
        planned = PlannedWrite(changeset, new_json, etag, True)
        client_condition = if_match is not None or if_none_match

        def against(version: TwinDocument | None) -> None:
            planned.created = version is None
            changeset.event_type = "twin.created" if version is None else "twin.updated"
            data: dict[str, Any] = {"$id": twin_id, "$iri": iri.value}
            if version is None:
                data["twin"] = twin_content(new_json)
            else:
                data["patch"] = content_patch(twin_content(version.body),
                                              twin_content(new_json))
            changeset.data = data
            changeset.known_content = (None if version is None or version.quads is None
                                       else (version.etag, iri, version.quads))
            changeset.precondition = Precondition(
                iri, if_match=(if_match if if_match is not None or version is None
                               else version.etag),
                must_not_exist=if_none_match or (version is None and if_match is None))
            # a property keeps its update time while its value stays; None: this commit's
            old_values = version.body["properties"] if version is not None else {}
            old_times = (version.body["$metadata"].get("properties", {})
                         if version is not None else {})
            times: dict[str, str | None] = {}
            for key, value in new_json["properties"].items():
                kept = old_times.get(key, {}).get("lastUpdateTime")
                times[key] = (kept if key in old_values and same_json(old_values[key], value)
                              and kept else None)
            changeset.property_times = times

        def rebase() -> None:
            try:
                against(self.get(twin_id))
            except NotFound:
                against(None)

        against(before)
        if not client_condition and before is not None:
            # (a create is not rebased: its must-not-exist condition fails if the twin was
            # created meanwhile, and ``put`` retries it as an update; looking up a key that
            # does not exist under the write lock costs every create)
            changeset.rebase = rebase
        return planned

    def patch(self, twin_id: str, kind: str, patch: Any, *, if_match: str | None = None,
              actor: str | None = None, request_id: str | None = None,
              idempotency_key: str | None = None) -> TwinDocument:
        """Apply an RFC 6902 JSON Patch (``kind="json"``) or RFC 7396 merge patch
        (``kind="merge"``) to the twin's ``{"$types", "properties"}`` document, atomically:
        the write is conditioned on the ETag the patch was applied to. Without ``if_match``
        the patch applies to the twin as stored when it commits: if the twin changed since
        it was read, it is applied again under the write lock (so patches of one twin at
        once are not refused because another landed first)."""
        iri = self.iri(twin_id)

        def planned_on(current: TwinDocument) -> PlannedWrite:
            patched = apply_patch(kind, twin_content(current.body), patch)
            return self.plan_put(twin_id, iri, self.to_quads(twin_id, iri, patched), current,
                                 if_match=current.etag, if_none_match=False)

        for attempt in range(_RACES):
            current = self.get(twin_id)
            if if_match is not None and current.etag != if_match:
                raise PreconditionFailed(
                    f"the twin changed: its ETag is {current.etag}, not {if_match}",
                    etag=current.etag)
            planned = planned_on(current)
            changeset = planned.changeset
            if if_match is None:
                changeset.rebase = planned.replanned_by(lambda: planned_on(self.get(twin_id)))
            try:
                committed = self._pipeline.commit(changeset, actor=actor,
                                                  request_id=request_id,
                                                  idempotency_key=idempotency_key)
                return planned.document(committed.time)
            except PreconditionFailed:
                if if_match is not None or attempt == _RACES - 1:
                    raise
        raise AssertionError("unreachable")

    def create(self, body: Any, **kwargs: Any) -> TwinDocument:
        twin_id = body.get("$id") if isinstance(body, dict) and body.get("$id") else None
        document, _ = self.put(twin_id or uuid.uuid4().hex, body, if_none_match=True, **kwargs)
        return document

    def delete(self, twin_id: str, *, if_match: str | None = None, actor: str | None = None,
               request_id: str | None = None,
               cascade: Callable[[], Sequence[NamedNode]] | None = None,
               idempotency_key: str | None = None) -> None:
        """Delete the twin; ``cascade`` lists its relationship graphs, which go in the same
        transaction (see ``plan_delete``). Without it, a twin that still has relationships
        is a 409."""
        changeset = self.plan_delete(twin_id, if_match=if_match, relationships=cascade)
        self._pipeline.commit(changeset, actor=actor, request_id=request_id,
                              idempotency_key=idempotency_key)

    def plan_delete(self, twin_id: str, *, if_match: str | None = None,
                    relationships: Callable[[], Sequence[NamedNode] | None] | None = None
                    ) -> Changeset:
        """The changeset that deletes the twin. ``relationships`` gives the relationship
        graphs that go with it (None from it, or no callable: the twin must have none); it
        is asked when planned and again under the write lock, so that a relationship made
        meanwhile goes too (or refuses the deletion) rather than being left pointing at no
        twin. Each relationship removed is deleted as by its own ``DELETE`` (a
        ``relationship.deleted`` event, before the twin's), and the twin's event names them
        too (``relationships``: each one's ``$sourceId`` and ``$relationshipId``)."""
        iri = self.iri(twin_id)

        def planned(graphs: Sequence[NamedNode] | None) -> Changeset:
            data: dict[str, Any] = {"$id": twin_id, "$iri": iri.value}
            named = [(graph, self.relationship_ids(graph.value)) for graph in graphs or []]
            companions = [Changeset(
                event_type="relationship.deleted", subject=graph, clear_graphs=[graph],
                precondition=Precondition(graph, must_exist=True), data=dict(ids))
                for graph, ids in named]
            if named:
                data["relationships"] = [ids for _, ids in named]
            return Changeset(
                event_type="twin.deleted", subject=iri, clear_graphs=[iri],
                precondition=Precondition(iri, if_match=if_match, must_exist=True,
                                          no_relationships=graphs is None),
                new_etag=None, data=data, companions=companions)

        if relationships is None:
            return planned(None)
        changeset = planned(relationships())

        def rebase() -> None:
            changeset.adopt(planned(relationships()))

        changeset.rebase, changeset.rebase_always = rebase, True
        return changeset

    def relationship_ids(self, rel: str) -> dict[str, str]:
        """``$sourceId`` and ``$relationshipId`` of a relationship IRI
        (``{twin}/relationships/{id}``)."""
        source, _, rel_id = rel.rpartition("/relationships/")
        return {"$sourceId": self.id_of(source), "$relationshipId": unquote(rel_id)}


@dataclass
class PlannedWrite:
    """A twin or relationship write, planned but not committed."""

    changeset: Changeset
    body: dict[str, Any]
    etag: str
    created: bool

    def document(self, time: str) -> TwinDocument:
        if "$metadata" in self.body:
            self.body["$metadata"]["lastUpdateTime"] = time
            times = self.changeset.property_times
            if times is not None:
                _property_metadata(self.body, {k: v or time for k, v in times.items()})
        return TwinDocument(self.body, self.etag)

    def replanned_by(self, plan_latest: Callable[[], PlannedWrite]) -> Callable[[], None]:
        """A rebase hook that plans the write again on the stored version and takes that
        plan (a patch without If-Match). A version deleted meanwhile leaves the plan as it
        is: its condition fails, answered 404."""
        def rebase() -> None:
            try:
                latest = plan_latest()
            except NotFound:
                return
            self.changeset.adopt(latest.changeset)
            self.body, self.etag = latest.body, latest.etag
        return rebase


def apply_patch(kind: str, document: dict[str, Any], patch: Any) -> Any:
    if kind == "merge":
        return merge_patch(document, patch)
    if not isinstance(patch, list):
        raise InvalidInput("a JSON Patch is a JSON array of operations (RFC 6902)")
    try:
        return jsonpatch.apply_patch(document, patch)
    except jsonpatch.InvalidJsonPatch:
        raise InvalidInput(f"invalid JSON Patch: {_patch_error(document, patch)}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
        raise UnprocessableContent(
            f"the patch does not apply: {_patch_error(document, patch)}") from None


def _patch_error(document: dict[str, Any], patch: list[Any]) -> str:
    """Which operation of a failed patch fails, and why ("patch operation 1 (test at
    '/properties/x'): the value there is 1, not 2"): applied one at a time, on the error
    path only."""
    for index, operation in enumerate(patch):
        try:
            document = jsonpatch.apply_patch(document, [operation])
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as err:
            if not isinstance(operation, dict):
                return f"patch operation {index}: {err}"
            where = f"patch operation {index} ({operation.get('op')} at {operation.get('path')!r})"
            if isinstance(err, jsonpatch.JsonPatchTestFailed):
                stored = jsonpointer.resolve_pointer(document, operation["path"])
                return (f"{where}: the value there is {json.dumps(stored)}, not "
                        f"{json.dumps(operation.get('value'))}")
            return f"{where}: {err}"
    return "the patch"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, section 2."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def twin_content(twin: dict[str, Any]) -> dict[str, Any]:
    return {"$types": twin["$types"], "properties": twin["properties"]}


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON: ``1``, ``1.0`` and ``true`` differ (they are different literals),
    though Python finds them equal."""
    return a == b and json_bytes(a) == json_bytes(b)


def content_patch(old: dict[str, Any], new: dict[str, Any], prefix: str = "",
                  nested: tuple[str, ...] = ("properties",)) -> list[dict[str, Any]]:
    """A JSON Patch (RFC 6902) from one twin or relationship document (``twin_content``)
    to another: each member (and each member of ``nested`` ones, the properties) whose
    value differs, replaced as a whole. ``jsonpatch.make_patch`` finds the same element by
    element, at about 200 us a twin, a tenth of a patch request."""
    ops: list[dict[str, Any]] = [{"op": "remove", "path": f"{prefix}/{jsonpointer.escape(key)}"}
                                 for key in old if key not in new]
    for key, value in new.items():
        path = f"{prefix}/{jsonpointer.escape(key)}"
        before = old.get(key)
        if key in nested and isinstance(value, dict) and isinstance(before, dict):
            ops += content_patch(before, value, path, ())
        elif key not in old:
            ops.append({"op": "add", "path": path, "value": value})
        elif not same_json(before, value):
            ops.append({"op": "replace", "path": path, "value": value})
    return ops
