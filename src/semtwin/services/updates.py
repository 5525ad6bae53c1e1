"""SPARQL Update as a changeset: every update request goes through the write pipeline like
any other door (validated against the active shapes, journaled, atomic, serialized with twin
writes).

Each operation is turned into quads to delete and insert, with the store's own engine doing
the SPARQL: ``WHERE`` clauses are evaluated as ``SELECT *`` over the store, and templates are
instantiated by an in-memory engine from those solutions (``INSERT { template } WHERE {
VALUES ... }``), so blank nodes, unbound variables and ``WITH`` behave as the standard says.
Operations see the effect of the earlier ones in the same request; when an operation's
``WHERE`` reads graphs an earlier operation changed, it is evaluated over a copy of those
graphs. ``LOAD`` and ``SERVICE`` are refused (a server must not fetch URLs for a client), and
so are writes into semtwin's reserved graphs (journal, metadata, models).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from semtwin.errors import InvalidInput
from semtwin.rdf import BlankNode, DefaultGraph, GraphName, Literal, NamedNode, Quad, Term
from semtwin.services.graphmeta import follow_metadata
from semtwin.services.held import checkable, held_quads, worth_checking
from semtwin.services.pipeline import (
    RESERVED,
    Changeset,
    WritePipeline,
    check_not_reserved,
)
from semtwin.sparqltext import add_using_clauses, check_complexity, tokens
from semtwin.store import (
    QueryDataset,
    ScratchStore,
    SelectResult,
    TwinStore,
    UpdateDataset,
)

SKOLEM = "urn:semtwin:skolem:"
SUBJECT = NamedNode("urn:semtwin:sparql-update")
MAX_COPY = 100_000
"""Largest store an operation's WHERE is copied from when earlier operations changed it."""
_CHUNK = 2_000


@dataclass
class _Operation:
    kind: str
    text: str
    """The operation alone, without prologue."""
    silent: bool = False
    words: list[str] = field(default_factory=list)


@dataclass
class _Net:
    """What the request has done so far, in the order a pipeline commit applies it."""

    emptied: dict[GraphName, None] = field(default_factory=dict)
    dropped: dict[NamedNode, None] = field(default_factory=dict)
    created: dict[NamedNode, None] = field(default_factory=dict)
    remove: dict[Quad, None] = field(default_factory=dict)
    add: dict[Quad, None] = field(default_factory=dict)
    inserted_into: dict[GraphName, None] = field(default_factory=dict)
    """Graphs an insert of the request wrote to (they exist after it, even if emptied)."""

    @property
    def changed(self) -> bool:
        return bool(self.emptied or self.dropped or self.remove or self.add or self.created)

    def touched(self, graph: GraphName) -> bool:
        return any(q.graph_name == graph for q in (*self.remove, *self.add))

    def delete(self, quad: Quad) -> None:
        self.add.pop(quad, None)
        self.remove[quad] = None

    def insert(self, quad: Quad) -> None:
        self.remove.pop(quad, None)
        self.add[quad] = None
        self.inserted_into[quad.graph_name] = None
        if isinstance(quad.graph_name, NamedNode):
            self.dropped.pop(quad.graph_name, None)


class UpdatePlanner:
    def __init__(self, store: TwinStore) -> None:
        self._store = store
        self._default_graph = store.capabilities.extra.get("default_graph", True)

    def plan(self, text: str, dataset: UpdateDataset | None = None,
             base_iri: str | None = None) -> Changeset:
        check_complexity(text)
        if dataset:
            text = add_using_clauses(text, dataset.using, dataset.using_named)
        _refuse_fetching(text)
        net = _Net()
        kinds: list[str] = []
        for prologue, operation in _split(text):
            kinds.append(operation.kind)
            self._apply(operation, prologue, base_iri, net)
        for quad in [*net.add, *net.remove]:
            check_not_reserved(quad.graph_name)
        for graph in net.inserted_into:
            # a graph the request made by inserting, then emptied (DELETE, CLEAR): it stays,
            # empty, as in the engine (a CLEAR GRAPH that follows finds it)
            if (isinstance(graph, NamedNode) and graph not in net.dropped
                    and graph not in net.created
                    and not any(q.graph_name == graph for q in net.add)
                    and not self._store.graph_exists(graph)):
                net.created[graph] = None
        cleared = {*net.emptied, *net.dropped}
        self._leave_out_no_ops(net, cleared)
        # the client's quads: counted before the new ETags join the change, with what the
        # graphs it clears or drops hold now
        deleted = self._quads_in(list(cleared)) + sum(
            1 for q in net.remove if q.graph_name not in cleared)
        data: dict[str, Any] = {"operations": kinds, "inserted": len(net.add),
                                "deleted": deleted}
        changeset = Changeset(
            event_type="sparql.update", subject=SUBJECT,
            clear_graphs=list(net.emptied), create_graphs=list(net.created),
            drop_graphs=list(net.dropped), remove=list(net.remove), add=list(net.add),
            data=data, metadata=False)
        follow_metadata(self._store, changeset)  # new ETags of the twins it writes
        return changeset

    def _leave_out_no_ops(self, net: _Net, cleared: set[GraphName]) -> None:
        """Inserting a quad the store holds, or deleting one it does not, changes nothing:
        left out, so an update that changes nothing is no event and gives no twin a new
        ETag, and the counts say what changed. Quads in graphs the request clears stay (the
        clear comes first), and so do those ``held_quads`` cannot look up."""
        checked = [q for q in (*net.add, *net.remove)
                   if q.graph_name not in cleared and checkable(q)]
        if not checked or not worth_checking(self._store, len(checked)):
            return
        held = held_quads(self._store, checked)
        for quad in checked:
            if quad in net.add and quad in held:
                del net.add[quad]
            elif quad in net.remove and quad not in held:
                del net.remove[quad]

    def _quads_in(self, graphs: list[GraphName]) -> int:
        """How many quads these graphs hold, counted by the store's engine."""
        patterns = []
        named = [g for g in graphs if isinstance(g, NamedNode)]
        for start in range(0, len(named), 1000):
            values = " ".join(str(g) for g in named[start:start + 1000])
            patterns.append(f"VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }}")
        if any(isinstance(g, DefaultGraph) for g in graphs):
            patterns.append("?s ?p ?o")
        total = 0
        for pattern in patterns:
            result = self._store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}",
                                       union_default_graph=False)
            assert isinstance(result, SelectResult)
            for (count,) in result.rows:
                total += int(count.value) if isinstance(count, Literal) else 0
        return total

    # -- operations ------------------------------------------------------------------------
    def _apply(self, op: _Operation, prologue: str, base: str | None, net: _Net) -> None:
        if op.kind in {"INSERT DATA", "DELETE DATA"}:
            brace = next((t.start for t in tokens(op.text) if t.kind == "open"), None)
            if brace is None:
                raise InvalidInput(f"malformed SPARQL update: {op.kind} needs {{ data }}")
            body = op.text[brace:]
            scratch = ScratchStore()
            scratch.update(f"{prologue} INSERT DATA {body}", base_iri=base)
            for quad in scratch.quads():
                (net.insert if op.kind == "INSERT DATA" else net.delete)(quad)
            return
        if op.kind == "MODIFY":
            self._modify(op, prologue, base, net)
            return
        prefixes, base_now = _prefixes(prologue, base)
        if op.kind in {"CLEAR", "DROP"}:
            for graph in self._targets(op, prefixes, base_now, net):
                self._empty(graph, net, drop=op.kind == "DROP")
            return
        if op.kind == "CREATE":
            graph = _graph_ref(op.words[-1], prefixes, base_now)
            assert isinstance(graph, NamedNode)
            check_not_reserved(graph)
            if self._exists(graph, net) and not op.silent:
                raise InvalidInput(f"CREATE GRAPH: {graph.value} exists (use CREATE SILENT)")
            net.created[graph] = None
            net.dropped.pop(graph, None)
            return
        # ADD, MOVE, COPY
        words = [w for w in op.words[1:] if w.upper() not in {"SILENT", "TO", "GRAPH"}]
        source, target = (_graph_ref(w, prefixes, base_now) for w in words[:2])
        check_not_reserved(target)
        if source == target:
            return
        if not self._exists(source, net):
            if not op.silent:
                raise InvalidInput(f"{op.kind}: the graph {source} does not exist")
            # SPARQL 1.1 Update defines COPY and MOVE as DROP SILENT of the target, then the
            # copy: from a graph that does not exist, SILENT leaves the target dropped (as
            # Oxigraph and RDF4J do; Jena leaves it alone)
            if op.kind in {"MOVE", "COPY"} and self._exists(target, net):
                self._empty(target, net, drop=True)
            return
        content = self._content(source, net)
        if op.kind in {"MOVE", "COPY"}:  # DROP SILENT of the target, then the copy
            self._empty(target, net, drop=True)
        for quad in content:
            net.insert(Quad(quad.subject, quad.predicate, quad.object, target))
        if op.kind == "MOVE":
            self._empty(source, net, drop=True)

    def _targets(self, op: _Operation, prefixes: dict[str, str], base: str | None,
                 net: _Net) -> list[GraphName]:
        scope = op.words[-1].upper()
        if scope == "DEFAULT":
            if not self._default_graph:
                raise InvalidInput(f"{op.kind} DEFAULT: this store has no default graph of its "
                                   "own (its default graph is the union of all graphs)")
            return [DefaultGraph()]
        if scope in {"NAMED", "ALL"}:
            graphs: list[GraphName] = [g for g in self._named(net)
                                       if not g.value.startswith(RESERVED)]
            if scope == "ALL" and self._default_graph:
                return [DefaultGraph(), *graphs]
            return graphs
        graph = _graph_ref(op.words[-1], prefixes, base)
        check_not_reserved(graph)
        if not self._exists(graph, net):
            if op.silent:
                return []
            raise InvalidInput(f"{op.kind} GRAPH: {graph} does not exist (use {op.kind} SILENT)")
        return [graph]

    def _named(self, net: _Net) -> list[NamedNode]:
        found: dict[NamedNode, None] = {}
        for g in self._store.named_graphs():
            if isinstance(g, NamedNode) and g not in net.dropped:
                found[g] = None
        for name in [*net.created, *(q.graph_name for q in net.add)]:
            if isinstance(name, NamedNode):
                found[name] = None
        return list(found)

    def _exists(self, graph: GraphName, net: _Net) -> bool:
        if isinstance(graph, DefaultGraph):
            return True
        if graph in net.created or any(q.graph_name == graph for q in net.add):
            return True
        return graph not in net.dropped and self._store.graph_exists(graph)

    def _content(self, graph: GraphName, net: _Net) -> list[Quad]:
        stored = [] if graph in net.emptied else [
            q for q in self._store.quads(None, None, None, graph) if q not in net.remove]
        return [*stored, *(q for q in net.add if q.graph_name == graph and q not in stored)]

    def _empty(self, graph: GraphName, net: _Net, *, drop: bool) -> None:
        if not net.touched(graph) and graph not in net.created:
            net.emptied[graph] = None
        else:
            for quad in self._content(graph, net):
                net.delete(quad)
        if drop and isinstance(graph, NamedNode):
            net.created.pop(graph, None)
            net.dropped[graph] = None

    # -- DELETE/INSERT ... WHERE -----------------------------------------------------------
    def _modify(self, op: _Operation, prologue: str, base: str | None, net: _Net) -> None:
        parts = _modify_parts(op.text)
        prefixes, base_now = _prefixes(prologue, base)
        with_graph = (_graph_ref(parts.with_graph, prefixes, base_now) if parts.with_graph
                      else None)
        using = [_graph_ref(g, prefixes, base_now) for g in parts.using]
        using_named = [_graph_ref(g, prefixes, base_now) for g in parts.using_named]
        where = parts.where
        if using or using_named:
            dataset: QueryDataset | None = QueryDataset(
                tuple(g.value for g in using if isinstance(g, NamedNode)),
                tuple(g.value for g in using_named if isinstance(g, NamedNode)))
            query = f"{prologue} SELECT * WHERE {where}"
        else:
            dataset = None
            query = (f"{prologue} SELECT * WHERE {{ GRAPH {with_graph} {where} }}"
                     if with_graph is not None else f"{prologue} SELECT * WHERE {where}")
        solutions = self._solutions(query, dataset, base, net, [*using, *using_named])
        with_clause = f"WITH {with_graph} " if with_graph is not None else ""
        rows = list(solutions.rows)
        if parts.delete is not None:
            for quad in _instantiate(prologue, with_clause, parts.delete,
                                     solutions.variables, rows, base):
                net.delete(quad)
        if parts.insert is not None:
            for quad in _instantiate(prologue, with_clause, parts.insert,
                                     solutions.variables, rows, base):
                net.insert(quad)

    def _solutions(self, query: str, dataset: QueryDataset | None, base: str | None,
                   net: _Net, graphs: list[GraphName]) -> SelectResult:
        if not net.changed:
            result = self._store.query(query, dataset=dataset, base_iri=base,
                                       union_default_graph=False)
            if not isinstance(result, SelectResult):
                raise InvalidInput("the WHERE clause of an update must be a group pattern")
            return SelectResult(result.variables, iter(list(result.rows)))
        # Earlier operations changed the store: evaluate over a copy as they left it.
        if dataset is not None:
            copied: Iterable[GraphName] = [g for g in graphs]
        else:
            if self._store.count() > MAX_COPY:
                raise InvalidInput(
                    "this DELETE/INSERT ... WHERE follows other changes in the same request "
                    "and reads the whole store; send it as a separate request, or name the "
                    "graphs it reads with USING")
            copied = [*([DefaultGraph()] if self._default_graph else []), *self._named(net)]
        scratch = ScratchStore(q for g in copied for q in self._content(g, net))
        return scratch.select(query, dataset=dataset, base_iri=base)


def _instantiate(prologue: str, with_clause: str, template: str, variables: list[str],
                 rows: list[tuple[Term | None, ...]], base: str | None) -> Iterator[Quad]:
    if not rows:
        return
    head = " ".join(f"?{v}" for v in variables)
    for start in range(0, len(rows), _CHUNK):
        block = " ".join("(" + " ".join(_value(t) for t in row) + ")"
                         for row in rows[start:start + _CHUNK])
        scratch = ScratchStore()
        scratch.update(f"{prologue} {with_clause}INSERT {template} "
                       f"WHERE {{ VALUES ({head}) {{ {block} }} }}", base_iri=base)
        for quad in scratch.quads():
            yield Quad(_unskolem(quad.subject), quad.predicate,  # type: ignore[arg-type]
                       _unskolem(quad.object), quad.graph_name)


def _value(term: Term | None) -> str:
    if term is None:
        return "UNDEF"
    if isinstance(term, BlankNode):
        return f"<{SKOLEM}{term.value}>"
    return str(term)


def _unskolem(term: Term) -> Term:
    if isinstance(term, NamedNode) and term.value.startswith(SKOLEM):
        return BlankNode(term.value.removeprefix(SKOLEM))
    return term


def _refuse_fetching(text: str) -> None:
    for token in tokens(text):
        if token.kind == "word" and token.text.upper() in {"LOAD", "SERVICE"}:
            raise InvalidInput(f"{token.text.upper()} is disabled: this server does not "
                               "fetch URLs on a client's behalf")


_OPERATIONS = {"INSERT", "DELETE", "WITH", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY",
               "LOAD"}


def _split(text: str) -> Iterator[tuple[str, _Operation]]:
    """(prologue so far, operation) for each operation of an update request; prefixes and
    bases declared before an operation hold for the ones after it."""
    prologue: list[str] = []
    op_start: int | None = None
    toks = [t for t in tokens(text) if t.kind not in {"space", "comment"}]
    i = 0
    while i < len(toks):
        token = toks[i]
        word = token.text.upper() if token.kind == "word" else None
        if token.depth == 0 and op_start is None and word in {"PREFIX", "BASE"}:
            last = toks[min(i + (3 if word == "PREFIX" else 2), len(toks)) - 1]
            prologue.append(text[token.start:last.start + len(last.text)])
            i += 3 if word == "PREFIX" else 2
            continue
        if token.depth == 0 and token.text == ";":
            if op_start is None:
                raise InvalidInput("malformed SPARQL update: an empty operation before ';'")
            yield " ".join(prologue), _operation(text[op_start:token.start])
            op_start = None
        elif op_start is None:
            op_start = token.start
        i += 1
    if op_start is not None:
        yield " ".join(prologue), _operation(text[op_start:])


def _operation(text: str) -> _Operation:
    words = [t.text for t in tokens(text) if t.kind in {"word", "iri"} and t.depth == 0]
    if not words:
        raise InvalidInput("malformed SPARQL update: an empty operation")
    first = words[0].upper()
    second = words[1].upper() if len(words) > 1 else ""
    if first not in _OPERATIONS:
        raise InvalidInput(f"malformed SPARQL update: unexpected {words[0]!r}")
    silent = second == "SILENT"
    if first in {"INSERT", "DELETE"} and second == "DATA":
        return _Operation(f"{first} DATA", text.strip(), words=words)
    if first in {"INSERT", "DELETE", "WITH"}:
        return _Operation("MODIFY", text.strip(), words=words)
    return _Operation(first, text.strip(), silent, words)


@dataclass
class _ModifyParts:
    where: str = ""
    with_graph: str | None = None
    delete: str | None = None
    insert: str | None = None
    using: list[str] = field(default_factory=list)
    using_named: list[str] = field(default_factory=list)


def _modify_parts(text: str) -> _ModifyParts:
    """WITH, DELETE and INSERT templates, USING [NAMED], and WHERE of a modify operation
    (``DELETE WHERE { P }`` is ``DELETE { P } WHERE { P }``)."""
    parts = _ModifyParts()
    groups: dict[str, str] = {}
    toks = [t for t in tokens(text) if t.kind not in {"space", "comment"}]
    i = 0
    pending: str | None = None
    while i < len(toks):
        token = toks[i]
        word = token.text.upper() if token.kind == "word" and token.depth == 0 else None
        if word == "WITH" and i + 1 < len(toks):
            parts.with_graph = toks[i + 1].text
            i += 2
        elif word == "USING" and i + 1 < len(toks):
            if toks[i + 1].text.upper() == "NAMED" and i + 2 < len(toks):
                parts.using_named.append(toks[i + 2].text)
                i += 3
            else:
                parts.using.append(toks[i + 1].text)
                i += 2
        elif word in {"DELETE", "INSERT", "WHERE"}:
            pending = word
            i += 1
        elif token.kind == "open" and token.depth == 0 and pending is not None:
            close = next((j for j in range(i + 1, len(toks))
                          if toks[j].kind == "close" and toks[j].depth == 0), None)
            if close is None:
                raise InvalidInput("malformed SPARQL update: unbalanced braces")
            groups[pending] = text[token.start:toks[close].start + 1]
            pending = None
            i = close + 1
        else:
            i += 1
    if "WHERE" not in groups:
        raise InvalidInput("malformed SPARQL update: DELETE/INSERT needs a WHERE clause")
    parts.where = groups["WHERE"]
    parts.delete, parts.insert = groups.get("DELETE"), groups.get("INSERT")
    if parts.delete is None and parts.insert is None:  # DELETE WHERE { P }
        parts.delete = parts.where
    return parts


def _prefixes(prologue: str, base: str | None) -> tuple[dict[str, str], str | None]:
    prefixes: dict[str, str] = {}
    toks = [t for t in tokens(prologue) if t.kind not in {"space", "comment"}]
    for i, token in enumerate(toks):
        word = token.text.upper() if token.kind == "word" else ""
        if word == "BASE" and i + 1 < len(toks):
            base = urljoin(base or "", toks[i + 1].text.strip("<>"))
        if word == "PREFIX" and i + 2 < len(toks):
            iri = toks[i + 2].text.strip("<>")
            prefixes[toks[i + 1].text.rstrip(":")] = urljoin(base or "", iri)
    return prefixes, base


def _graph_ref(word: str, prefixes: dict[str, str], base: str | None) -> GraphName:
    upper = word.upper()
    if upper == "DEFAULT":
        return DefaultGraph()
    if word.startswith("<") and word.endswith(">"):
        return NamedNode(urljoin(base or "", word[1:-1]) if base else word[1:-1])
    prefix, sep, local = word.partition(":")
    if sep and prefix in prefixes:
        return NamedNode(prefixes[prefix] + local)
    raise InvalidInput(f"malformed SPARQL update: {word!r} is not a graph IRI")


def apply_update(pipeline: WritePipeline, planner: UpdatePlanner, text: str,
                 dataset: UpdateDataset | None, base_iri: str | None,
                 actor: str | None = None, request_id: str | None = None) -> None:
    # planned under the write lock: two updates that read and write the same statements
    # (a counter) take turns, as if run one after the other; a twin write waits meanwhile
    with pipeline.exclusive():
        changeset = planner.plan(text, dataset, base_iri)
        if not changeset.data["inserted"] and not changeset.data["deleted"] and not (
                changeset.clear_graphs or changeset.create_graphs or changeset.drop_graphs):
            return  # nothing changes: no event
        changeset.actor, changeset.request_id = actor, request_id
        pipeline.commit(changeset)

