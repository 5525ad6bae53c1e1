"""Footprints of SPARQL-based constraints: what a query can read for one focus node.

A SHACL-SPARQL query runs with ``$this`` pre-bound. When every triple pattern of the query is
connected to ``$this`` (or to a constant) through other patterns, a solution can only use
triples reached by walking those patterns from ``$this`` over the data: the constraint's
*footprint* at that node. Copied into a scratch store, the footprint gives the query the
same solutions as the whole data graph would, so constraints can be evaluated on any view
(a store, or a store as a change would leave it) without a SPARQL view of it.

The walk follows the query's algebra (parsed with rdflib): joins pass their bindings on,
``OPTIONAL``/``EXISTS``/``NOT EXISTS`` read with the bindings of their left side, ``UNION``
branches separately; a variable bound only by ``BIND``, one side of a ``UNION`` or an
``OPTIONAL`` anchors nothing after it. A pattern the walk cannot reach from a bound term
makes the query *unbounded* (it may read any triple): such constraints stay unsupported
outside in-memory data. Walks are capped (``LIMIT`` triples) so a hub cannot stall a write.

The reverse question, which focus nodes a changed triple can affect, walks from every
pattern the triple can match back towards ``$this`` (``focus_candidates``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode as RBNode
from rdflib import Literal as RLiteral
from rdflib import URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath
from rdflib.plugins.sparql import algebra
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from semtwin.rdf import Literal, NamedNode, Term, Triple
from semtwin.shacl.graph import GraphView, MemoryGraph

LIMIT = 100_000
"""Most triples a footprint (or a reverse walk) may collect before it gives up."""

THIS = "?this"
LOCAL = "!local:"
"""Env marker (an empty set under ``LOCAL + key``): the variable's values derive from
``$this``, not only from constants (a part of the query every focus node shares)."""


class Unbounded(Exception):
    """The query can read triples no walk from ``$this`` reaches (or more than ``LIMIT``)."""


Env = dict[str, set[Term]]


@dataclass
class _Walk:
    view: GraphView
    shortcut: bool = False
    """Stop walking a part of the query as soon as it cannot have a solution."""
    record: bool = False
    """Note how each pattern is reached (the plan's walk over no data)."""
    triples: set[Triple] = field(default_factory=set)

    def add(self, s: Term, p: NamedNode, o: Term) -> None:
        self.triples.add(Triple(s, p, o))  # type: ignore[arg-type]
        if len(self.triples) > LIMIT:
            raise Unbounded(f"the footprint exceeds {LIMIT} triples")

    def step(self, path: Any, start: Term, forward: bool) -> set[Term]:
        """The nodes ``path`` leads to from ``start`` (against it when not ``forward``),
        recording the triples it crosses."""
        view = self.view
        if isinstance(path, URIRef):
            p = NamedNode(str(path))
            if forward:
                found = set(view.lookup_objects(start, p))
                for o in found:
                    self.add(start, p, o)
            else:
                found = set(view.subjects(p, start))
                for s in found:
                    self.add(s, p, start)
            return found
        if isinstance(path, Variable | RBNode):  # any predicate
            return self._any(start, forward, frozenset())
        if isinstance(path, InvPath):
            return self.step(path.arg, start, not forward)
        if isinstance(path, SequencePath):
            frontier = {start}
            for part in (path.args if forward else reversed(path.args)):
                frontier = {n for node in frontier for n in self.step(part, node, forward)}
            return frontier
        if isinstance(path, AlternativePath):
            return {n for part in path.args for n in self.step(part, start, forward)}
        if isinstance(path, MulPath):
            reached = {start} if path.zero else set()
            frontier = {start}
            seen = {start}
            while frontier:
                nxt = {n for node in frontier for n in self.step(path.path, node, forward)}
                reached |= nxt
                if not path.more:
                    break
                frontier = nxt - seen
                seen |= nxt
            return reached
        if isinstance(path, NegatedPath):
            negated: set[Term] = set()
            ahead = [a for a in path.args if isinstance(a, URIRef)]
            # ^p inside !(…): rdflib may keep it unparsed; then no predicate is excluded
            behind = [a for a in path.args if not isinstance(a, URIRef)]
            if ahead or not behind:
                negated |= self._any(start, forward, frozenset(map(str, ahead)))
            if behind:
                excluded = frozenset(str(a.arg) for a in behind if isinstance(a, InvPath)
                                     and isinstance(a.arg, URIRef))
                negated |= self._any(start, not forward,
                                     excluded if len(excluded) == len(behind) else frozenset())
            return negated
        raise Unbounded(f"unsupported path {path!r}")

    def _any(self, start: Term, forward: bool, excluded: frozenset[str]) -> set[Term]:
        found: set[Term] = set()
        if forward:
            for p, o in self.view.outgoing(start):
                if p.value not in excluded:
                    self.add(start, p, o)
                    found.add(o)
        else:
            for s, p in self.view.incoming(start):
                if p.value not in excluded:
                    self.add(s, p, start)
                    found.add(s)
        return found


def _key(term: Any) -> str | None:
    """The variable a pattern position names (blank nodes in patterns are variables)."""
    if isinstance(term, Variable):
        return f"?{term}"
    if isinstance(term, RBNode):
        return f"_:{term}"
    return None


def _term(term: Any) -> Term:
    if isinstance(term, URIRef):
        return NamedNode(str(term))
    if isinstance(term, RLiteral):
        if term.language:
            return Literal(str(term), language=term.language)
        if term.datatype:
            return Literal(str(term), datatype=NamedNode(str(term.datatype)))
        return Literal(str(term))
    raise Unbounded(f"unsupported term {term!r}")


@dataclass(frozen=True)
class _Pattern:
    subject: Any
    path: Any
    object: Any


class QueryPlan:
    """A parsed constraint query: its footprint at a focus node, the predicates it reads,
    and the focus nodes a changed triple can affect."""

    def __init__(self, query: str, prefixes: Mapping[str, str]) -> None:
        parsed = algebra.translateQuery(parseQuery(query), initNs=dict(prefixes))
        self._algebra: CompValue = parsed.algebra
        self._translated: dict[int, CompValue] = {}
        self.patterns: list[_Pattern] = []
        self._collect(self._algebra)
        self._crossed: dict[_Pattern, frozenset[NamedNode] | None] = {}
        """Per pattern, the predicates its path crosses (None: any), for the reverse walk."""
        for pattern in self.patterns:
            found: set[NamedNode] = set()
            self._crossed[pattern] = None if _predicates(pattern.path, found) else frozenset(
                found)
        self.any_predicate = None in self._crossed.values()
        self.predicates = frozenset().union(
            *(crossed for crossed in self._crossed.values() if crossed is not None))
        self._anchors: dict[_Pattern, str | None] = {}
        """Per pattern, the variable the forward walk reaches it from, when its values derive
        from ``$this`` (None: from constants only)."""
        self._binders: dict[str, set[tuple[_Pattern, str, bool]]] = {}
        """Per variable, the (pattern, variable it was walked from, direction) that first
        bound it in some part of the query. Both are filled by the walk over no data below."""
        self.bounded = self.anchored()

    def anchored(self) -> bool:
        """Whether every pattern hangs on ``$this`` or a constant (a walk over no data)."""
        try:
            self._expand(self._algebra, {THIS: {NamedNode("urn:semtwin:probe")},
                                         LOCAL + THIS: set()},
                         _Walk(MemoryGraph(), shortcut=False, record=True))
        except Unbounded:
            return False
        return True

    # -- the forward walk ------------------------------------------------------------------
    def footprint(self, view: GraphView, focus: Term) -> set[Triple] | None:
        """Every triple a solution at ``focus`` can read; None when the walk already shows
        there is no solution (a pattern every solution needs matches nothing); ``Unbounded``
        if the footprint is not known."""
        walk = _Walk(view, shortcut=True)
        if self._expand(self._algebra, {THIS: {focus}, LOCAL + THIS: set()}, walk) is None:
            return None
        return walk.triples

    def _expand(self, node: Any, env: Env, walk: _Walk) -> Env | None:
        """The bindings after ``node`` (supersets of the values that matter); None, when
        the walk takes shortcuts, if ``node`` has no solution."""
        name = node.name
        if name == "BGP":
            return self._bgp([_Pattern(*t) for t in node.triples], env, walk)
        if name == "Join":
            try:
                left = self._expand(node.p1, env, walk)
                return None if left is None else self._expand(node.p2, left, walk)
            except Unbounded:  # the right side may be what anchors the left one
                right = self._expand(node.p2, env, walk)
                return None if right is None else self._expand(node.p1, right, walk)
        if name == "LeftJoin":
            left = self._expand(node.p1, env, walk)
            if left is not None:
                self._expand(node.p2, left, walk)
                self._exists(node.get("expr"), left, walk)
            return left  # what only the optional part binds anchors nothing after it
        if name == "Filter":
            inner = self._expand(node.p, env, walk)
            if inner is not None:
                self._exists(node.expr, inner, walk)
            return inner
        if name == "Union":
            left = self._expand(node.p1, env, walk)
            right = self._expand(node.p2, env, walk)
            if left is None or right is None:
                return right if left is None else left
            return {k: left[k] | right[k] for k in left.keys() & right.keys()}
        if name == "Group" and not node.get("expr"):
            # aggregates without GROUP BY answer one row even when nothing matches
            inner = self._expand(node.p, env, walk)
            return dict(env) if inner is None else inner
        if name in ("Extend", "AggregateJoin", "Group", "Project", "Distinct", "Reduced",
                    "Slice", "OrderBy", "ToMultiSet", "SelectQuery", "SubSelect"):
            inner = self._expand(node.p, env, walk)
            if inner is None:
                return None
            if name == "Extend":
                self._exists(node.expr, inner, walk)
                bound = _key(node.var)
                inner = {k: v for k, v in inner.items() if k.removeprefix(LOCAL) != bound}
            if name == "Project" and node is not self._algebra.p:
                kept = {_key(v) for v in node.PV} | env.keys()
                inner = {k: v for k, v in inner.items() if k.removeprefix(LOCAL) in kept}
            return inner
        if name == "Graph":
            return self._expand(node.p, env, walk)
        raise Unbounded(f"unsupported query form {name}")

    def _exists(self, expr: Any, env: Env, walk: _Walk) -> None:
        """``EXISTS``/``NOT EXISTS`` patterns inside an expression read with ``env`` (all of
        them: a shortcut there would change the answer)."""
        for graph in self._exists_patterns(expr):
            shortcut, walk.shortcut = walk.shortcut, False
            try:
                self._expand(graph, env, walk)
            finally:
                walk.shortcut = shortcut

    def _bgp(self, patterns: list[_Pattern], env: Env, walk: _Walk) -> Env | None:
        env = {k: set(v) for k, v in env.items()}
        pending = list(patterns)
        while pending:
            pattern, forward = self._next(pending, env)
            pending.remove(pattern)
            start, end = ((pattern.subject, pattern.object) if forward
                          else (pattern.object, pattern.subject))
            start_key = _key(start)
            local = start_key is not None and LOCAL + start_key in env
            end_key = _key(end)
            if walk.record:
                anchor = start_key if local else None
                # the same pattern reached differently in two places: treat it as global
                self._anchors[pattern] = (anchor if self._anchors.get(pattern, anchor) == anchor
                                          else None)
                if start_key is not None and end_key is not None and end_key not in env:
                    self._binders.setdefault(end_key, set()).add((pattern, start_key, forward))
            starts = env[start_key] if start_key is not None else {_term(start)}
            reached: set[Term] = set()
            for node in starts:
                reached |= walk.step(pattern.path, node, forward)
            if end_key is not None:
                env[end_key] = env[end_key] & reached if end_key in env else reached
                if local:
                    env[LOCAL + end_key] = set()
                matched = bool(env[end_key])
            elif isinstance(end, RLiteral):  # lexical forms may differ: any literal
                matched = any(isinstance(n, Literal) for n in reached)
            else:
                matched = _term(end) in reached
            if walk.shortcut and not matched:
                return None
        return env

    @staticmethod
    def _next(pending: list[_Pattern], env: Env) -> tuple[_Pattern, bool]:
        """The pattern to walk next and its direction: from a bound subject, else a bound
        object, else a constant subject, else a constant object (a class, say: many nodes
        may point to it, so it comes last)."""
        for rank in range(4):
            for pattern in pending:
                s, o = _key(pattern.subject), _key(pattern.object)
                if rank == 0 and s is not None and s in env:
                    return pattern, True
                if rank == 1 and o is not None and o in env:
                    return pattern, False
                if rank == 2 and s is None:
                    return pattern, True
                if rank == 3 and o is None:
                    return pattern, False
        raise Unbounded("a triple pattern is not connected to $this or a constant")

    # -- the reverse walk ------------------------------------------------------------------
    def reads(self, predicate: NamedNode) -> bool:
        return self.any_predicate or predicate in self.predicates

    def focus_candidates(self, view: GraphView, changed: Triple) -> set[Term] | None:
        """The ``$this`` nodes whose footprint (before or after the change, on a ``view``
        holding both) can hold ``changed``: for each pattern it can match, from the end the
        forward walk reaches that pattern from, back along the patterns to ``$this``.
        None: every focus node (a pattern only constants anchor, global to the query)."""
        walk = _Walk(view)
        found: set[Term] = set()
        for pattern in self.patterns:
            crossed = self._crossed[pattern]
            if not (self.any_predicate or crossed is None or changed.predicate in crossed):
                continue
            if pattern not in self._anchors:
                return None
            anchor = self._anchors[pattern]
            if anchor is None:
                # anchored by constants only (directly or through variables they bind): a
                # part of the query every focus node shares
                if _could_match(pattern, changed):
                    return None
                continue
            forward = anchor == _key(pattern.subject)
            nodes = _starts(pattern.path, changed, forward, walk)
            constant = pattern.object if forward else pattern.subject
            if nodes and _key(constant) is None and not _ends_at(
                    pattern.path, changed, forward, _term(constant)):
                continue  # it crosses the triple but cannot end at the pattern's constant
            found |= self._walk_back(anchor, nodes, walk)
        return found

    def _walk_back(self, key: str, nodes: set[Term], walk: _Walk) -> set[Term]:
        """The ``$this`` nodes whose walk binds ``key`` to one of ``nodes``: back along the
        patterns that bound each variable in the forward walk (every branch's), to
        ``$this``."""
        found: set[Term] = set()
        seen: dict[str, set[Term]] = {}
        pending = [(key, nodes)]
        while pending:
            at, reached = pending.pop()
            new = reached - seen.setdefault(at, set())
            if not new:
                continue
            seen[at] |= new
            if at == THIS:
                found |= new
                continue
            for pattern, start, forward in self._binders.get(at, ()):
                back: set[Term] = set()
                for node in new:
                    back |= walk.step(pattern.path, node, not forward)
                pending.append((start, back))
        return found

    # -- parsing ---------------------------------------------------------------------------
    def _exists_patterns(self, expr: Any) -> Iterable[CompValue]:
        """The graph patterns of the ``EXISTS``/``NOT EXISTS`` in an expression, translated
        once (rdflib leaves them parsed; a translation names its blank nodes anew)."""
        if isinstance(expr, CompValue):
            if expr.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                graph = expr.graph
                if graph.name == "GroupGraphPatternSub":
                    translated = self._translated.get(id(graph))
                    if translated is None:
                        translated = self._translated[id(graph)] = (
                            algebra.translateGroupGraphPattern(graph))
                    graph = translated
                yield graph
                return
            for key, value in expr.items():
                if key != "_vars":
                    yield from self._exists_patterns(value)
        elif isinstance(expr, list | tuple):
            for item in expr:
                yield from self._exists_patterns(item)

    def _collect(self, node: Any) -> None:
        if isinstance(node, CompValue):
            if node.name == "BGP":
                self.patterns.extend(_Pattern(*t) for t in node.triples)
            for graph in (self._exists_patterns(node) if node.name.startswith("Builtin_")
                          else ()):
                self._collect(graph)
            for key, value in node.items():
                if key not in ("_vars", "PV", "triples"):
                    self._collect(value)
        elif isinstance(node, list | tuple):
            for item in node:
                self._collect(item)


def _predicates(path: Any, into: set[NamedNode]) -> bool:
    """Add the predicates ``path`` crosses to ``into``; True when it may cross any."""
    if isinstance(path, URIRef):
        into.add(NamedNode(str(path)))
        return False
    if isinstance(path, Variable | RBNode | NegatedPath):
        return True
    if isinstance(path, InvPath):
        return _predicates(path.arg, into)
    if isinstance(path, MulPath):
        return _predicates(path.path, into)
    if isinstance(path, SequencePath | AlternativePath):
        return any([_predicates(part, into) for part in path.args])
    return True


def _could_match(pattern: _Pattern, changed: Triple) -> bool:
    """Whether a match of ``pattern`` can cross ``changed`` (its constants agree)."""
    if not isinstance(pattern.path, URIRef | Variable | RBNode):
        return True
    for term, value in ((pattern.subject, changed.subject), (pattern.object, changed.object)):
        if _key(term) is None and not isinstance(term, RLiteral) and _term(term) != value:
            return False
    return True


def _ends_at(path: Any, changed: Triple, forward: bool, constant: Term) -> bool:
    """Whether a traversal crossing ``changed`` can end at a constant: a simple predicate
    ends at the triple's far end; longer paths are not checked (they may)."""
    if isinstance(path, URIRef | Variable | RBNode) and not isinstance(constant, Literal):
        return (changed.object if forward else changed.subject) == constant
    return True


def _starts(path: Any, changed: Triple, forward: bool, walk: _Walk) -> set[Term]:
    """The nodes where a traversal of ``path`` (along it when ``forward``, else against it)
    that crosses ``changed`` can begin."""
    if isinstance(path, URIRef):
        if NamedNode(str(path)) != changed.predicate:
            return set()
        return {changed.subject if forward else changed.object}
    if isinstance(path, Variable | RBNode | NegatedPath):
        return {changed.subject if forward else changed.object, *(
            {changed.object if forward else changed.subject}
            if isinstance(path, NegatedPath) else ())}
    if isinstance(path, InvPath):
        return _starts(path.arg, changed, not forward, walk)
    if isinstance(path, AlternativePath):
        return {n for part in path.args for n in _starts(part, changed, forward, walk)}
    if isinstance(path, SequencePath):
        parts = list(path.args if forward else reversed(path.args))
        found: set[Term] = set()
        for index, part in enumerate(parts):
            inner = _starts(part, changed, forward, walk)
            for before in reversed(parts[:index]):  # back over the steps before it
                inner = {n for node in inner for n in walk.step(before, node, not forward)}
            found |= inner
        return found
    if isinstance(path, MulPath):
        inner = _starts(path.path, changed, forward, walk)
        if not inner or not path.more:
            return inner
        back = MulPath(path.path, "*")  # any number of earlier rounds
        return {n for node in inner for n in walk.step(back, node, not forward)}
    raise Unbounded(f"unsupported path {path!r}")
