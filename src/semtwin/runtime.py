"""The runtime: one object that owns settings, the store, the services and the worker pools.

Front ends (HTTP, CLI, MCP) receive a runtime; nothing is module-level, so tests build as
many independent runtimes as they like.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from semtwin.errors import InvalidInput
from semtwin.security.auth import Authenticator
from semtwin.services.batch import BatchService
from semtwin.services.compaction import Compactor
from semtwin.services.governance import ActiveShapes, WriteValidator
from semtwin.services.graphs import GraphStoreService
from semtwin.services.grounding import (
    AgentQuery,
    ClaimChecker,
    GroundingService,
    SchemaSummary,
)
from semtwin.services.imports import ImportService
from semtwin.services.models import ModelService
from semtwin.services.navigation import NavigationService
from semtwin.services.pipeline import Changeset, WritePipeline
from semtwin.services.relationships import RelationshipService
from semtwin.services.sparql import DEFAULT_PREFIXES, SparqlService
from semtwin.services.state import StateService
from semtwin.services.twins import TwinService
from semtwin.services.workers import WorkerPool
from semtwin.services.writelock import WriteLock
from semtwin.settings import Settings
from semtwin.store import TwinStore, open_store


@dataclass
class Semtwin:
    settings: Settings
    store: TwinStore
    sparql: SparqlService = field(init=False)
    graphs: GraphStoreService = field(init=False)
    pipeline: WritePipeline = field(init=False)
    twins: TwinService = field(init=False)
    relationships: RelationshipService = field(init=False)
    navigation: NavigationService = field(init=False)
    state: StateService = field(init=False)
    query_pool: WorkerPool = field(init=False)
    lookup_pool: WorkerPool = field(init=False)
    active_shapes: ActiveShapes = field(init=False)
    models: ModelService = field(init=False)
    batch: BatchService = field(init=False)
    imports: ImportService = field(init=False)
    grounding: GroundingService = field(init=False)
    agent_query: AgentQuery = field(init=False)
    claims: ClaimChecker = field(init=False)
    schema: SchemaSummary = field(init=False)
    auth: Authenticator = field(init=False)
    compactor: Compactor = field(init=False)
    _tenants: dict[str, Semtwin] = field(init=False, default_factory=dict)
    _tenant_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.pipeline = WritePipeline(
            self.store, WriteLock(self.settings.write_lock) if self.settings.write_lock else None,
            inline_writes=self.settings.inline_writes)
        self.sparql = SparqlService(self.store, self.settings, self.pipeline)
        self.active_shapes = ActiveShapes(self.store, self.pipeline.no_wait)
        self.pipeline.check = WriteValidator(self.store, self.active_shapes,
                                             self.pipeline.no_wait)
        self.compactor = Compactor(self.store, self.settings.compact_after_updates)
        self.pipeline.committed = self._committed
        self.models = ModelService(self.store, self.pipeline)
        self.graphs = GraphStoreService(self.store, self.pipeline)
        self.twins = TwinService(self.store, self.pipeline, self.settings.twin_base,
                                 DEFAULT_PREFIXES, self.active_shapes.terms)
        self.relationships = RelationshipService(self.store, self.pipeline, self.twins)
        self.batch = BatchService(self.pipeline, self.twins, self.relationships)
        self.imports = ImportService(self.store, self.pipeline, self.models, self.twins,
                                     self.relationships, self.batch)
        self.navigation = NavigationService(self.store, self.pipeline, self.twins)
        self.state = StateService(self.store, self.pipeline, self.twins)
        self.grounding = GroundingService(self.store, self.pipeline,
                                          self.settings.grounding_embeddings)
        self.agent_query = AgentQuery(self.sparql, self.grounding)
        self.claims = ClaimChecker(self.store, self.pipeline, self.grounding)
        self.schema = SchemaSummary(self.store, self.grounding)
        self.auth = Authenticator(self.settings)
        self.query_pool = WorkerPool("query", self.settings.query_workers)
        self.lookup_pool = WorkerPool("lookup", self.settings.lookup_workers)

    def _committed(self, changesets: Sequence[Changeset]) -> None:
        self.active_shapes.note(changesets)
        self.compactor.note(changesets)

    @classmethod
    def open(cls, settings: Settings) -> Semtwin:
        return cls(settings=settings, store=open_store(settings))

    def tenant(self, name: str) -> Semtwin:
        """The runtime of a tenant: its own store (twins, models, journal), beside this
        one's (``{store}.tenants/{name}``), opened on first use."""
        with self._tenant_lock:
            runtime = self._tenants.get(name)
            if runtime is None:
                if self.settings.remote:
                    raise InvalidInput("tenants need the embedded store (one store per "
                                       "tenant); run one server per tenant over a remote store")
                store = "memory" if self.settings.in_memory else str(
                    Path(self.settings.store).with_name(
                        Path(self.settings.store).name + ".tenants") / name)
                runtime = Semtwin.open(replace(self.settings, store=store))
                runtime.models.ensure_core()
                self._tenants[name] = runtime
            return runtime

    def close(self) -> None:
        for runtime in self._tenants.values():
            runtime.close()
        self.query_pool.shutdown()
        self.lookup_pool.shutdown()
        self.compactor.close()
        self.pipeline.close()
        self.store.close()
