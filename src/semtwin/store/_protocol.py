"""The store protocol every backend implements, and the neutral values it speaks in."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from semtwin.deadline import Deadline
from semtwin.rdf import BlankNode, GraphName, Literal, NamedNode, Quad, RdfFormat, Term, Triple


@dataclass(frozen=True)
class QueryDataset:
    """An RDF dataset given by the protocol (``default-graph-uri``/``named-graph-uri``)."""

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.default_graphs or self.named_graphs)


@dataclass(frozen=True)
class UpdateDataset:
    """``using-graph-uri``/``using-named-graph-uri`` of an update request."""

    using: tuple[str, ...] = ()
    using_named: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.using or self.using_named)


@dataclass
class SelectResult:
    variables: list[str]
    rows: Iterator[tuple[Term | None, ...]]


@dataclass
class AskResult:
    value: bool


@dataclass
class GraphResult:
    """CONSTRUCT or DESCRIBE."""

    triples: Iterator[Triple]


QueryResult = SelectResult | AskResult | GraphResult


@dataclass(frozen=True)
class StoreCapabilities:
    """What a backend can do; front ends consult this instead of guessing."""

    name: str
    persistent: bool
    union_default_graph: bool = True
    backup: bool = False
    in_process: bool = False
    """Calls return without I/O waits worth yielding for (safe to run on an event loop)."""
    extra: dict[str, bool] = field(default_factory=dict)


@runtime_checkable
class TwinStore(Protocol):
    """A quad store with SPARQL 1.1. Implementations: embedded pyoxigraph, remote SPARQL."""

    @property
    def capabilities(self) -> StoreCapabilities: ...

    def query(
        self,
        sparql: str,
        *,
        dataset: QueryDataset | None = None,
        base_iri: str | None = None,
        union_default_graph: bool = True,
        prefixes: Mapping[str, str] | None = None,
        deadline: Deadline | None = None,
    ) -> QueryResult:
        """Evaluate lazily where the engine can, so a consumer may stop early.

        Past ``deadline`` the engine's work stops and ``QueryTimeout`` is raised, at the call
        or while iterating. Raises ``InvalidInput`` for a malformed query.
        """
        ...

    def update(
        self, sparql: str, *, dataset: UpdateDataset | None = None, base_iri: str | None = None
    ) -> None:
        """Apply a SPARQL Update atomically. Raises ``InvalidInput`` for a malformed update."""
        ...

    def quads(
        self,
        subject: NamedNode | BlankNode | Triple | None = None,
        predicate: NamedNode | None = None,
        obj: Term | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[Quad]: ...

    def graph_exists(self, graph: GraphName) -> bool: ...

    def contains(self, quad: Quad) -> bool:
        """Whether the store holds this quad."""
        ...

    def named_graphs(self) -> list[NamedNode | BlankNode]: ...

    def add_quads(self, quads: Sequence[Quad], *, create_graph: GraphName | None = None) -> None:
        """Atomically add quads; ``create_graph`` is created even when ``quads`` is empty."""
        ...

    def drop_graph(self, graph: GraphName) -> None:
        """Remove a graph's content, and the graph itself when named."""
        ...

    def bulk_load(
        self,
        source: IO[bytes],
        fmt: RdfFormat,
        *,
        base_iri: str | None = None,
        graph: NamedNode | None = None,
    ) -> None:
        """Fast load of a large, already validated file."""
        ...

    def dump(self, output: IO[bytes], fmt: RdfFormat, *, graph: GraphName | None = None) -> None:
        ...

    def count(self) -> int: ...

    def stored_form(self, literal: Literal) -> Literal:
        """The literal as this store gives it back after storing it. Stores keep some
        datatypes as values (Oxigraph: ``"+7"^^xsd:int`` comes back as
        ``"7"^^xsd:integer``; Virtuoso: ``"5"^^xsd:decimal`` as ``"5"^^xsd:integer``), so
        validation of stored data asks what a written literal became."""
        ...

    def backup(self, target: Path) -> None: ...

    def compact(self) -> None:
        """Rewrite the storage so that deleted and replaced statements stop costing reads
        (a twin updated thousands of times); embedded store only."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
