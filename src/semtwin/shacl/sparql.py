"""SHACL-SPARQL: SPARQL-based constraints (``sh:sparql`` with ``sh:select``).

A constraint's query runs once per focus node with ``$this`` pre-bound (and ``$currentShape``;
``$PATH`` is replaced by the property shape's path in SPARQL syntax, as the spec says), and
each solution is a result: ``?value`` its value (the focus node for node shapes when
unbound), ``?path`` its path for node shapes, ``?message`` its message. Queries the spec rules
out for pre-binding (``MINUS``, ``VALUES``, ``SERVICE``, a nested ``SELECT`` without ``$this``,
``AS`` a pre-bound variable) make the shapes graph invalid.

Where the data is evaluated, always in a scratch in-memory store (``store/scratch``): a copy
of an in-memory data graph (``semtwin validate FILE``, ``POST /api/v1/validate``), or, for
data read from a store (writes, impact, ``validate --store``), a copy of the query's
footprint at the focus node (``semtwin.shacl.footprint``; a query without one is reported as
unsupported, never as passed). Pre-bound IRIs and literals are written into the query (so
inner ``FILTER``s see them, as SHACL's pre-binding says), blank nodes go through
pyoxigraph's substitutions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from semtwin.errors import InvalidInput
from semtwin.rdf import BlankNode, Literal, NamedNode, Quad, Term
from semtwin.shacl.footprint import QueryPlan, Unbounded
from semtwin.shacl.graph import GraphView, MemoryGraph
from semtwin.shacl.paths import Path, ShapesError
from semtwin.shacl.vocab import sh
from semtwin.store.scratch import ScratchStore

# keywords, not parts of names (``ex:values``, ``?minus``)
_FORBIDDEN = [(re.compile(rf"(?<![\w:?$#/-]){word}(?![\w:-])", re.IGNORECASE), word)
              for word in ("MINUS", "VALUES", "SERVICE")] + [
              (re.compile(r"\b[Aa][Ss]\s+[?$](this|currentShape|shapesGraph)\b"),
               "AS a pre-bound variable")]
_SHAPES_GRAPH = re.compile(r"[?$]shapesGraph\b")
_SUBSELECT = re.compile(r"\{\s*SELECT\b(?P<projection>[^{]*)\{", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")
_OWL_IMPORTS = NamedNode("http://www.w3.org/2002/07/owl#imports")


@dataclass(frozen=True)
class SparqlConstraint:
    node: Term
    select: str
    prefixes: Mapping[str, str] = field(default_factory=dict)
    messages: tuple[Literal, ...] = ()
    deactivated: bool = False


_PATH_VARIABLE = re.compile(r"\$PATH\b")


def constraint_query(constraint: SparqlConstraint, path: Path | None) -> str:
    """The constraint's query for a shape: ``$PATH`` is its path in SPARQL syntax."""
    if path is None:
        return constraint.select
    text = str(path)
    return _PATH_VARIABLE.sub(lambda _: text, constraint.select)


def compile_constraint(view: GraphView, node: Term) -> SparqlConstraint:
    """Read one ``sh:sparql`` value; a malformed one is a ``ShapesError``."""
    selects = [s for s in view.objects(node, sh("select")) if isinstance(s, Literal)]
    if len(selects) != 1:
        raise ShapesError(f"SPARQL constraint {node} needs exactly one sh:select string")
    query = selects[0].value
    for pattern, what in _FORBIDDEN:
        if pattern.search(query):
            raise ShapesError(f"SPARQL constraint {node} uses {what}, which pre-binding "
                              "of $this does not allow")
    for nested in _SUBSELECT.finditer(query):
        if "$this" not in nested.group("projection"):
            raise ShapesError(f"SPARQL constraint {node} has a nested SELECT without $this")
    prefixes = _declared_prefixes(view, node)
    try:  # parsed now (on an empty store), so a broken query refuses the shapes graph
        ScratchStore().select(query, prefixes=prefixes)
    except InvalidInput as err:
        reason = err.detail if len(err.detail) <= 160 else err.detail[:160] + "…"
        raise ShapesError(f"the sh:select of SPARQL constraint {node} does not parse: "
                          f"{reason}") from None
    return SparqlConstraint(
        node, query, prefixes,
        tuple(m for m in view.objects(node, sh("message")) if isinstance(m, Literal)),
        any(isinstance(d, Literal) and d.value == "true"
            for d in view.objects(node, sh("deactivated"))))


# Available to every query, as in pyshacl and TopBraid: published shapes use them without
# declaring them (the AAS 3.0 shapes' queries say ``rdf:type`` and declare only ``aas``).
_STANDARD_PREFIXES = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
                      "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
                      "xsd": "http://www.w3.org/2001/XMLSchema#",
                      "owl": "http://www.w3.org/2002/07/owl#",
                      "sh": "http://www.w3.org/ns/shacl#"}


def _declared_prefixes(view: GraphView, node: Term) -> dict[str, str]:
    """``sh:prefixes``: the ``sh:declare`` of the given nodes and the ontologies they import,
    over the standard prefixes."""
    prefixes = dict(_STANDARD_PREFIXES)
    pending = list(view.objects(node, sh("prefixes")))
    seen: set[Term] = set()
    while pending:
        owner = pending.pop()
        if owner in seen:
            continue
        seen.add(owner)
        pending += view.objects(owner, _OWL_IMPORTS)
        for declaration in view.objects(owner, sh("declare")):
            for prefix in view.objects(declaration, sh("prefix")):
                for namespace in view.objects(declaration, sh("namespace")):
                    if isinstance(prefix, Literal) and isinstance(namespace,
                                                                  Literal | NamedNode):
                        prefixes[prefix.value] = namespace.value
    return prefixes


def message(template: Literal, row: Mapping[str, Term], this: Term) -> str:
    """``{?var}`` / ``{$var}`` in a message replaced by the solution's values."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        term = this if name == "this" else row.get(name)
        if term is None:
            return match.group(0)
        return term.value if isinstance(term, NamedNode | Literal) else str(term)
    return _PLACEHOLDER.sub(value, template.value)


class SparqlEngine(Protocol):
    def select(self, query: str, prefixes: Mapping[str, str],
               bindings: Mapping[str, Term]) -> list[dict[str, Term]] | None:
        """Solutions as variable → term; None when this engine cannot pre-bind a term."""
        ...


class MemorySparql:
    """An in-memory data graph, copied once into a scratch in-memory store."""

    def __init__(self, data: MemoryGraph) -> None:
        self._data = data
        self._store: ScratchStore | None = None

    def select(self, query: str, prefixes: Mapping[str, str],
               bindings: Mapping[str, Term]) -> list[dict[str, Term]] | None:
        if _SHAPES_GRAPH.search(query):
            return None  # the shapes graph is not queryable beside the data here
        if self._store is None:
            self._store = ScratchStore(Quad(t.subject, t.predicate, t.object)
                                       for t in self._data.triples())
        return _prebound_select(self._store, query, prefixes, bindings)


class FootprintSparql:
    """Any data view (a store, a store as a change would leave it): each query runs on a
    scratch copy of its footprint at the focus node (``semtwin.shacl.footprint``). A query
    whose footprint is not known (unbounded) is not evaluated (None)."""

    def __init__(self, data: GraphView,
                 plan: Callable[[str, Mapping[str, str]], QueryPlan | None]) -> None:
        """``plan``: the footprint plan of a query (``ShapesGraph.query_plan``)."""
        self._data = data
        self._plan = plan

    def select(self, query: str, prefixes: Mapping[str, str],
               bindings: Mapping[str, Term]) -> list[dict[str, Term]] | None:
        if _SHAPES_GRAPH.search(query):
            return None
        plan = self._plan(query, prefixes)
        if plan is None:
            return None
        try:
            triples = plan.footprint(self._data, bindings["this"])
        except Unbounded:
            return None
        if triples is None:
            return []  # a pattern every solution needs matches nothing
        store = ScratchStore(Quad(t.subject, t.predicate, t.object) for t in triples)
        return _prebound_select(store, query, prefixes, bindings)


def _prebound_select(store: ScratchStore, query: str, prefixes: Mapping[str, str],
                     bindings: Mapping[str, Term]) -> list[dict[str, Term]] | None:
    used = {k: v for k, v in bindings.items() if re.search(rf"[?$]{k}\b", query)}
    text, substitutions = query, dict[str, Term]()
    for name, term in used.items():
        # SHACL pre-binding replaces the variable everywhere (inner FILTERs see it);
        # SEP-0007 substitution (pyoxigraph's) only for blank nodes, which text cannot name
        if isinstance(term, BlankNode):
            substitutions[name] = term
        else:
            text = _prebind_text(text, name, _rendered(term))
    try:
        result = store.select(text, prefixes=prefixes, substitutions=substitutions)
    except InvalidInput as err:
        if substitutions and "bind" in err.detail:
            return None  # a blank node for a variable the query does not project
        raise ShapesError(f"SPARQL constraint query does not parse: {err.detail}") from None
    return [{name: value for name, value in zip(result.variables, row, strict=True)
             if value is not None} for row in result.rows]


def _rendered(term: Term) -> str:
    return f"<{term.value}>" if isinstance(term, NamedNode) else str(term)


_SELECT_CLAUSE = re.compile(r"(\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?)(.*?)(\s*(?:\bWHERE\b|\{))",
                            re.IGNORECASE | re.DOTALL)


def _prebind_text(query: str, name: str, rendered: str) -> str:
    """A variable replaced by a term in the query text; where it is projected on its own it
    is dropped from the projection (``SELECT $this ?v`` becomes ``SELECT ?v``)."""
    variable = re.compile(rf"[?$]{name}\b")
    # a pre-bound variable is bound
    query = re.sub(rf"\bbound\s*\(\s*[?$]{name}\s*\)", "(true)", query, flags=re.IGNORECASE)
    # GROUP BY takes a variable or a bracketed expression, not a bare term
    query = re.sub(rf"(\bGROUP\s+BY\b[^{{}}]*?)[?$]{name}\b", rf"\1({rendered})", query,
                   flags=re.IGNORECASE)

    def projection(match: re.Match[str]) -> str:
        head, items, tail = match.group(1), match.group(2), match.group(3)
        kept, depth, token = [], 0, ""
        for char in items + " ":
            depth += (char == "(") - (char == ")")
            if char.isspace() and depth == 0:
                if token and not variable.fullmatch(token):
                    kept.append(variable.sub(rendered, token))
                token = ""
            else:
                token += char
        return head + (" ".join(kept) or "*") + tail

    return variable.sub(rendered, _SELECT_CLAUSE.sub(projection, query))
