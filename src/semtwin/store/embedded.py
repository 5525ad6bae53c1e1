"""The embedded backend: a pyoxigraph store on disk (RocksDB) or in memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

import pyoxigraph as ox

from semtwin.deadline import Deadline
from semtwin.errors import Conflict, InvalidInput, QueryTimeout, StoreLocked, StoreUnavailable
from semtwin.rdf import (
    BlankNode,
    DefaultGraph,
    GraphName,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Term,
    Triple,
)
from semtwin.sparqltext import add_group_filter, add_using_clauses, variables
from semtwin.store._protocol import (
    AskResult,
    GraphResult,
    QueryDataset,
    QueryResult,
    SelectResult,
    StoreCapabilities,
    UpdateDataset,
)
from semtwin.store._updates import add_quads_update
from semtwin.store.scratch import oxigraph_stored_form

T = TypeVar("T")


class EmbeddedStore:
    """pyoxigraph in-process. Releases the GIL while evaluating, so threads run in parallel."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        try:
            if path is None:
                self._store = ox.Store()
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(path))
        except OSError as err:
            if "lock" in str(err).lower():
                raise StoreLocked(
                    f"the store at {path} is in use by another process (a running server?)"
                ) from None
            raise StoreUnavailable(f"cannot open the store at {path}: {err}") from None
        self._guarded_texts: dict[str, str] = {}
        self._join_guard = True
        self._capabilities = StoreCapabilities(
            name="embedded", persistent=path is not None, union_default_graph=True, backup=True,
            in_process=True,
        )

    @property
    def capabilities(self) -> StoreCapabilities:
        return self._capabilities

    @property
    def join_guard(self) -> bool:
        """Whether guarded queries also get the join-level guard (ADR 0002; turned off only
        by the benchmark that measures what it costs)."""
        return self._join_guard

    @join_guard.setter
    def join_guard(self, on: bool) -> None:
        self._join_guard = on
        self._guarded_texts = {}

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
        kwargs: dict[str, object] = {}
        if prefixes:
            kwargs["prefixes"] = dict(prefixes)
        if dataset:
            try:
                kwargs["default_graph"] = [ox.NamedNode(g) for g in dataset.default_graphs]
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in dataset.named_graphs]
            except ValueError as err:
                raise InvalidInput(f"a dataset graph is not a valid IRI: {err}") from None
        else:
            kwargs["use_default_graph_as_union"] = union_default_graph
        guard: _DeadlineGuard | None = None
        result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | None = None
        if deadline is not None and deadline.in_engine:
            guard = _DeadlineGuard(deadline)
            guarded = self._guarded_text(sparql)
            try:
                result = self._store.query(
                    guarded, base_iri=base_iri, custom_functions={_GUARD_FUNCTION: guard},
                    **kwargs,  # type: ignore[arg-type]
                )
            except (SyntaxError, ValueError):
                guard = None  # report errors against the query as written
        if result is None:
            result = self._query_plain(sparql, base_iri, kwargs)
        if guard is not None:
            guard.raise_if_fired()
        if isinstance(result, ox.QueryBoolean):
            return AskResult(bool(result))
        if isinstance(result, ox.QuerySolutions):
            names = [v.value for v in result.variables]
            return SelectResult(names, _guarded(_rows(result, len(names)), guard))
        return GraphResult(_guarded(iter(result), guard))

    def _guarded_text(self, sparql: str) -> str:
        """The query with the deadline filter, memoised (bounded): the lexer costs about as
        much as evaluating a point lookup."""
        cached = self._guarded_texts.get(sparql)
        if cached is None:
            calls = [f"IF(RAND() >= {GUARD_SAMPLE_RATE}, true, <{_GUARD_FUNCTION.value}>())"]
            names = variables(sparql, _JOIN_GUARD_VARIABLES) if self._join_guard else []
            if names:
                bound = ", ".join(f"?{name}" for name in names)
                calls.append(f"IF(RAND() >= {JOIN_GUARD_SAMPLE_RATE}, true, "
                             f"<{_GUARD_FUNCTION.value}>(COALESCE({bound}, 0)))")
            cached = add_group_filter(sparql, *calls)
            if len(self._guarded_texts) >= 2048:
                self._guarded_texts.clear()  # worker threads share it: no iteration
            self._guarded_texts[sparql] = cached
        return cached

    def _query_plain(
        self, sparql: str, base_iri: str | None, kwargs: dict[str, object]
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        try:
            return self._store.query(sparql, base_iri=base_iri, **kwargs)  # type: ignore[arg-type]
        except SyntaxError as err:
            raise _syntax_error("query", err) from None
        except ValueError as err:
            raise InvalidInput(f"invalid query: {err}") from None

    def update(
        self, sparql: str, *, dataset: UpdateDataset | None = None, base_iri: str | None = None
    ) -> None:
        if dataset:
            sparql = add_using_clauses(sparql, dataset.using, dataset.using_named)
        try:
            self._store.update(sparql, base_iri=base_iri)
        except SyntaxError as err:
            raise _syntax_error("update", err) from None
        except ValueError as err:
            raise InvalidInput(f"invalid update: {err}") from None

    def quads(
        self,
        subject: NamedNode | BlankNode | Triple | None = None,
        predicate: NamedNode | None = None,
        obj: Term | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[Quad]:
        return iter(self._store.quads_for_pattern(subject, predicate, obj, graph))

    def contains(self, quad: Quad) -> bool:
        # a point look-up: 3 us where a pattern of the same four terms seeks 20-30 us
        # (a copy of the twin benchmark's 100k store, ADR 0012 session 15)
        return quad in self._store

    def graph_exists(self, graph: GraphName) -> bool:
        if isinstance(graph, DefaultGraph):
            return True
        return bool(self._store.contains_named_graph(graph))

    def named_graphs(self) -> list[NamedNode | BlankNode]:
        return list(self._store.named_graphs())

    def add_quads(self, quads: Sequence[Quad], *, create_graph: GraphName | None = None) -> None:
        if create_graph is None and not any(
                isinstance(q.subject, BlankNode) or isinstance(q.object, BlankNode)
                for q in quads):
            # one transaction, no update text to write and parse (blank nodes go through
            # INSERT DATA, which gives them fresh labels)
            self._store.extend(quads)
            return
        update = add_quads_update(quads, create_graph)
        if update:
            self._store.update(update)

    def drop_graph(self, graph: GraphName) -> None:
        if isinstance(graph, DefaultGraph):
            self._store.clear_graph(graph)
        else:
            self._store.remove_graph(graph)

    def bulk_load(
        self,
        source: IO[bytes],
        fmt: RdfFormat,
        *,
        base_iri: str | None = None,
        graph: NamedNode | None = None,
    ) -> None:
        try:
            self._store.bulk_load(source, fmt, base_iri=base_iri, to_graph=graph)
        except SyntaxError as err:
            raise _syntax_error(fmt.name, err) from None

    def dump(self, output: IO[bytes], fmt: RdfFormat, *, graph: GraphName | None = None) -> None:
        if graph is None:
            self._store.dump(output, fmt)
        else:
            self._store.dump(output, fmt, from_graph=graph)

    def count(self) -> int:
        return len(self._store)

    def backup(self, target: Path) -> None:
        if self._path is None:
            raise InvalidInput("an in-memory store cannot be backed up; dump it instead")
        if target.exists():
            raise Conflict(f"{target} exists; a backup goes to a new directory")
        self._store.flush()
        self._store.backup(str(target))

    def compact(self) -> None:
        """RocksDB keeps a deleted statement as a tombstone that every read of its prefix
        steps over until compaction reaches it: a twin's reads slow down with each update
        it had (docs/operations.md). A full compaction (pyoxigraph's ``optimize``)."""
        self._store.optimize()

    def stored_form(self, literal: Literal) -> Literal:
        return oxigraph_stored_form(literal)

    def flush(self) -> None:
        if self._path is not None:
            self._store.flush()

    def close(self) -> None:
        self.flush()
        del self._store


_GUARD_FUNCTION = ox.NamedNode("urn:semtwin:fn:deadline")
GUARD_SAMPLE_RATE = 0.05
"""Share of scanned rows on which the engine calls the deadline guard (a Python call, which
needs the GIL: calling it on every row costs more than the query under concurrency)."""
JOIN_GUARD_SAMPLE_RATE = 1e-4
"""Share of a group's joined rows on which the engine calls the guard: the filter that
mentions the group's variables waits until they are bound, so it runs where a cross product
spends its time (a variable-free filter is evaluated at the scans only)."""
_JOIN_GUARD_VARIABLES = 64
_TRUE = ox.Literal(True)


class _DeadlineGuard:
    """An always-true SPARQL function that the engine calls, on a sample of the rows it
    joins, through the filter ``IF(RAND() >= rate, true, guard())`` (ADR 0002). Past the deadline it
    first lets the deadline's owner park the engine thread (no CPU used), then raises, which
    makes the engine drop rows. The partial result is discarded: the caller gets
    ``QueryTimeout``."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self.fired = False

    def __call__(self, *_bound: object) -> ox.Literal:
        if self.fired or self._deadline.expired():
            if not self.fired:
                self.fired = True
                if self._deadline.on_engine_expired is not None:
                    self._deadline.on_engine_expired()
            raise TimeoutError("semtwin query deadline")
        return _TRUE

    def raise_if_fired(self) -> None:
        if self.fired:
            raise QueryTimeout(f"query exceeded the timeout of {self._deadline.seconds:g} s")


def _guarded(items: Iterator[T], guard: _DeadlineGuard | None) -> Iterator[T]:
    yield from items
    if guard is not None:
        guard.raise_if_fired()


def _rows(solutions: ox.QuerySolutions, width: int) -> Iterator[tuple[Term | None, ...]]:
    for solution in solutions:
        yield tuple(solution[i] for i in range(width))


def _syntax_error(what: str, err: SyntaxError) -> InvalidInput:
    message = str(err.msg) if err.msg else str(err)
    line, column = (err.lineno, err.offset) if err.lineno is not None else _position(message)
    return InvalidInput(f"malformed SPARQL {what}: {message}", line=line, column=column)


def _position(message: str) -> tuple[int | None, int | None]:
    # pyoxigraph's SPARQL errors read "error at LINE:COLUMN: ..."
    head = message.removeprefix("error at ").split(":", 2)
    if len(head) >= 2 and head[0].isdigit() and head[1].isdigit():
        return int(head[0]), int(head[1])
    return None, None
