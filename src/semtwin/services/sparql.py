"""SPARQL 1.1 query and update as a service: dataset, timeout, row cap, result formats."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from semtwin.deadline import Deadline
from semtwin.errors import (
    Forbidden,
    InvalidInput,
    NotAcceptable,
    QueryTimeout,
    SemtwinError,
)
from semtwin.negotiation import Negotiator
from semtwin.services.pipeline import WritePipeline
from semtwin.services.profiles import Plan, QueryProfiles
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
from semtwin.services.updates import UpdatePlanner, apply_update
from semtwin.services.workers import WorkerPool
from semtwin.settings import Settings
from semtwin.sparqltext import check_complexity, tokens, uses_triple_terms
from semtwin.store import QueryDataset, QueryResult, TwinStore, UpdateDataset

log = logging.getLogger("semtwin.sparql")

INLINE_BUDGET_S = 0.05
"""How long a query proven fast may hold the event loop before it is moved to a worker."""

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
    timeout: float | None = None
    """A tighter timeout for this request (the caller's role), in seconds."""
    max_rows: int | None = None
    """A tighter row cap for this request (the caller's role)."""


class SparqlService:
    def __init__(self, store: TwinStore, settings: Settings,
                 pipeline: WritePipeline | None = None) -> None:
        self._store = store
        self._settings = settings
        self.pipeline = pipeline
        self._planner = UpdatePlanner(store)
        self.profiles = QueryProfiles()
        self._negotiator = Negotiator()
        self._inline_allowed = store.capabilities.in_process

    def try_inline(self, request: QueryRequest) -> Rendered | None:
        """The result if the query is proven fast and stays within its inline budget; None
        when it must take the normal path (unknown, slow, or any error to report)."""
        key = _profile_key(request)
        timeout = self._timeout(request)
        if not self._inline_allowed or self.profiles.plan(key, timeout) is not Plan.INLINE:
            return None
        budget = Deadline(min(timeout, INLINE_BUDGET_S))
        try:
            rendered = self.query(request, budget)
        except QueryTimeout:
            self.profiles.record(key, INLINE_BUDGET_S * 1000)
            return None
        except SemtwinError:
            return None
        self.profiles.record(key, (time.monotonic() - budget.started) * 1000)
        return rendered

    async def execute(self, request: QueryRequest, pool: WorkerPool) -> Rendered:
        """Run a query by what is known of it (ADR 0005): inline if proven fast, else in a
        worker, with the engine-side deadline guard unless proven to finish."""
        key = _profile_key(request)
        timeout = self._timeout(request)
        plan = self.profiles.plan(key, timeout)
        if plan is Plan.INLINE and self._inline_allowed:
            inline = self.try_inline(request)
            if inline is not None:
                return inline
            plan = Plan.GUARDED  # it overran its inline budget (or failed: report it below)
        deadline = Deadline(timeout, in_engine=plan is not Plan.TRUSTED)
        timing: list[float] = []

        def work() -> Rendered:
            started = time.monotonic()
            rendered = self.query(request, deadline)
            timing.append(time.monotonic() - started)
            return rendered

        try:
            rendered = await pool.run(work, deadline)
        except QueryTimeout:
            self.profiles.record_timeout(key)
            raise
        self.profiles.record(key, timing[0] * 1000)
        return rendered

    def _timeout(self, request: QueryRequest) -> float:
        if request.timeout is not None:
            return min(self._settings.query_timeout, request.timeout)
        return self._settings.query_timeout

    def new_deadline(self) -> Deadline:
        return Deadline(self._settings.query_timeout)

    def check_acceptable(self, request: QueryRequest) -> None:
        """Fail fast (406) when no result format of any query form fits the request."""
        accept = self._accept(request)
        if self._negotiator.best_match(ALL_RESULT_TYPES, accept) is None:
            raise NotAcceptable(f"no SPARQL result format matches Accept: {accept}")

    def evaluate(self, request: QueryRequest, deadline: Deadline | None = None) -> QueryResult:
        check_complexity(request.text)
        self._check_service(request.text)
        self._check_triple_terms(request.text)
        return self._store.query(
            request.text,
            dataset=request.dataset,
            base_iri=request.base_iri,
            union_default_graph=self._settings.union_default_graph,
            prefixes=DEFAULT_PREFIXES,
            deadline=deadline,
        )

    def _check_triple_terms(self, text: str) -> None:
        """A store without RDF 1.2 triple terms would fail such a request with its own
        message, or worse; say plainly why instead."""
        if not self._store.capabilities.extra.get("triple_terms", True) and \
                uses_triple_terms(text):
            raise InvalidInput(f"this server's store ({self._store.capabilities.name}) does "
                               "not support RDF 1.2 triple terms (RDF-star: << … >>)")

    def _check_service(self, text: str) -> None:
        """``SERVICE`` makes this server send HTTP requests: refused unless the endpoint is
        on the administrator's allow list (``SEMTWIN_SERVICE_ALLOW``)."""
        if "service" not in text.lower():
            return
        items = [t for t in tokens(text) if t.kind not in ("space", "comment")]
        for index, token in enumerate(items):
            if token.kind != "word" or token.text.upper() != "SERVICE":
                continue
            following = items[index + 1:index + 3]
            if following and following[0].kind == "word" and \
                    following[0].text.upper() == "SILENT":
                following = following[1:]
            target = following[0].text if following else ""
            iri = target[1:-1] if target.startswith("<") and target.endswith(">") else None
            if iri is None or not any(iri.startswith(allowed)
                                      for allowed in self._settings.service_allow):
                raise Forbidden(f"SERVICE {target or '?'} is refused: this server sends "
                                "requests only to endpoints its administrator allowed "
                                "(SEMTWIN_SERVICE_ALLOW)")

    def query(self, request: QueryRequest, deadline: Deadline) -> Rendered:
        """Evaluate and serialize; runs in a worker thread."""
        deadline.check()
        result = self.evaluate(request, deadline)
        accept = self._accept(request)
        offers = offers_for(result)
        media_type = self._negotiator.best_match(offers, accept)
        if media_type is None:
            raise NotAcceptable(
                f"no format for this query's results matches Accept: {accept}; "
                f"available: {', '.join(offers)}"
            )
        max_rows = self._settings.max_result_rows
        if request.max_rows is not None:
            max_rows = min(max_rows, request.max_rows)
        limits = Limits(deadline=deadline, max_rows=max_rows)
        return render(result, media_type, limits)

    def update(self, text: str, dataset: UpdateDataset, base_iri: str | None = None, *,
               actor: str | None = None, request_id: str | None = None) -> None:
        """Apply a SPARQL Update as one pipeline commit: validated, journaled, atomic."""
        if self.pipeline is None:
            raise RuntimeError("SparqlService.pipeline is not set")
        self._check_triple_terms(text)
        apply_update(self.pipeline, self._planner, text, dataset, base_iri, actor=actor,
                     request_id=request_id)

    @staticmethod
    def _accept(request: QueryRequest) -> str | None:
        if request.format:
            short = request.format.lower()
            return FORMAT_SHORT_NAMES.get(short, request.format)
        return request.accept


def _profile_key(request: QueryRequest) -> str:
    if not request.dataset:
        return request.text
    return f"{request.text}\x00{request.dataset}"
