"""SPARQL 1.1 query and update as a service: dataset, timeout, row cap, result formats."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from semtwin.deadline import Deadline
from semtwin.errors import NotAcceptable
from semtwin.negotiation import best_match
from semtwin.services.results import (
    ASK_TYPES,
    FORMAT_SHORT_NAMES,
    GRAPH_TYPES,
    SELECT_TYPES,
    Limits,
    Rendered,
    offers_for,
    render,
)
from semtwin.settings import Settings
from semtwin.store import QueryDataset, QueryResult, TwinStore, UpdateDataset

log = logging.getLogger("semtwin.sparql")

# Predeclared in every query (a query's own PREFIX wins), as Virtuoso and GraphDB do.
DEFAULT_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "brick": "https://brickschema.org/schema/Brick#",
}

ALL_RESULT_TYPES = list(dict.fromkeys(SELECT_TYPES + ASK_TYPES + GRAPH_TYPES))


@dataclass(frozen=True)
class QueryRequest:
    text: str
    dataset: QueryDataset = field(default_factory=QueryDataset)
    base_iri: str | None = None
    accept: str | None = None
    format: str | None = None
    """A short format name (``json``, ``csv``, ``turtle``...) that overrides ``accept``."""


class SparqlService:
    def __init__(self, store: TwinStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def new_deadline(self) -> Deadline:
        return Deadline(self._settings.query_timeout)

    def check_acceptable(self, request: QueryRequest) -> None:
        """Fail fast (406) when no result format of any query form fits the request."""
        accept = self._accept(request)
        if best_match(ALL_RESULT_TYPES, accept) is None:
            raise NotAcceptable(f"no SPARQL result format matches Accept: {accept}")

    def evaluate(self, request: QueryRequest, deadline: Deadline | None = None) -> QueryResult:
        return self._store.query(
            request.text,
            dataset=request.dataset,
            base_iri=request.base_iri,
            union_default_graph=self._settings.union_default_graph,
            prefixes=DEFAULT_PREFIXES,
            deadline=deadline,
        )

    def query(self, request: QueryRequest, deadline: Deadline) -> Rendered:
        """Evaluate and serialize; runs in a worker thread."""
        deadline.check()
        result = self.evaluate(request, deadline)
        accept = self._accept(request)
        offers = offers_for(result)
        media_type = best_match(offers, accept)
        if media_type is None:
            raise NotAcceptable(
                f"no format for this query's results matches Accept: {accept}; "
                f"available: {', '.join(offers)}"
            )
        limits = Limits(deadline=deadline, max_rows=self._settings.max_result_rows)
        return render(result, media_type, limits)

    def update(self, text: str, dataset: UpdateDataset, base_iri: str | None = None) -> None:
        self._store.update(text, dataset=dataset, base_iri=base_iri)

    @staticmethod
    def _accept(request: QueryRequest) -> str | None:
        if request.format:
            short = request.format.lower()
            return FORMAT_SHORT_NAMES.get(short, request.format)
        return request.accept
