"""SHACL property paths: parsed from a shapes graph, evaluated forwards (focus → values) and
backwards (value → focus nodes), and asked which focus nodes read a given triple (what
incremental validation needs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from semtwin.rdf import BlankNode, NamedNode, Term
from semtwin.shacl.graph import GraphView, rdf_list
from semtwin.shacl.vocab import RDF_FIRST, sh


class ShapesError(ValueError):
    """A shapes graph that is not well-formed SHACL."""


@dataclass(frozen=True)
class Pred:
    iri: NamedNode
    inverse: bool = False

    def __str__(self) -> str:
        return f"^<{self.iri.value}>" if self.inverse else f"<{self.iri.value}>"


@dataclass(frozen=True)
class Seq:
    steps: tuple[Path, ...]

    def __str__(self) -> str:
        return "(" + "/".join(map(str, self.steps)) + ")"


@dataclass(frozen=True)
class Alt:
    options: tuple[Path, ...]

    def __str__(self) -> str:
        return "(" + "|".join(map(str, self.options)) + ")"


@dataclass(frozen=True)
class Repeat:
    inner: Path
    min_one: bool
    max_one: bool

    def __str__(self) -> str:
        mark = {(False, False): "*", (True, False): "+", (False, True): "?"}[
            (self.min_one, self.max_one)]
        return f"({self.inner}){mark}"


Path = Pred | Seq | Alt | Repeat


def parse_path(view: GraphView, node: Term, depth: int = 0) -> Path:
    if depth > 50:
        raise ShapesError("property path nested too deeply (a cycle?)")
    if isinstance(node, NamedNode):
        return Pred(node)
    if not isinstance(node, BlankNode):
        raise ShapesError(f"a property path must be an IRI or a blank node, not {node}")
    if view.objects(node, RDF_FIRST):
        members = rdf_list(view, node)
        if len(members) < 2:
            raise ShapesError("a sequence path needs at least two members")
        return Seq(tuple(parse_path(view, m, depth + 1) for m in members))
    for name, (min_one, max_one) in (("zeroOrMorePath", (False, False)),
                                     ("oneOrMorePath", (True, False)),
                                     ("zeroOrOnePath", (False, True))):
        inner = view.objects(node, sh(name))
        if inner:
            return Repeat(parse_path(view, inner[0], depth + 1), min_one, max_one)
    inverse = view.objects(node, sh("inversePath"))
    if inverse:
        return invert(parse_path(view, inverse[0], depth + 1))
    alternatives = view.objects(node, sh("alternativePath"))
    if alternatives:
        members = rdf_list(view, alternatives[0])
        if len(members) < 2:
            raise ShapesError("an alternative path needs at least two members")
        return Alt(tuple(parse_path(view, m, depth + 1) for m in members))
    raise ShapesError(f"{node} is not a SHACL property path")


def invert(path: Path) -> Path:
    """The inverse pushed down to predicates, so evaluation only knows two step kinds."""
    if isinstance(path, Pred):
        return Pred(path.iri, not path.inverse)
    if isinstance(path, Seq):
        return Seq(tuple(invert(s) for s in reversed(path.steps)))
    if isinstance(path, Alt):
        return Alt(tuple(invert(o) for o in path.options))
    return Repeat(invert(path.inner), path.min_one, path.max_one)


def values(view: GraphView, path: Path, focus: Term) -> list[Term]:
    return list(_walk(view, path, {focus: None}, forward=True))


def sources(view: GraphView, path: Path, nodes: Iterable[Term]) -> dict[Term, None]:
    """Every node from which ``path`` reaches one of ``nodes``."""
    return _walk(view, path, dict.fromkeys(nodes), forward=False)


def _walk(view: GraphView, path: Path, start: dict[Term, None],
          forward: bool) -> dict[Term, None]:
    if isinstance(path, Pred):
        out: dict[Term, None] = {}
        along = forward != path.inverse
        for node in start:
            found = (view.objects(node, path.iri) if along
                     else view.subjects(path.iri, node))
            for n in found:
                out[n] = None
        return out
    if isinstance(path, Seq):
        current = start
        for step in (path.steps if forward else reversed(path.steps)):
            current = _walk(view, step, current, forward)
        return current
    if isinstance(path, Alt):
        out = {}
        for option in path.options:
            out.update(_walk(view, option, start, forward))
        return out
    if path.max_one:
        return {**start, **_walk(view, path.inner, start, forward)}
    reached: dict[Term, None] = {} if path.min_one else dict(start)
    frontier = start
    while frontier:
        reached_now = _walk(view, path.inner, frontier, forward)
        frontier = {n: None for n in reached_now if n not in reached}
        reached.update(frontier)
    return reached


def readers(view: GraphView, path: Path, s: Term, p: NamedNode, o: Term) -> dict[Term, None]:
    """Nodes whose evaluation of ``path`` reads the triple ``(s, p, o)``."""
    if isinstance(path, Pred):
        if path.iri != p:
            return {}
        return {o: None} if path.inverse else {s: None}
    if isinstance(path, Seq):
        first, rest = path.steps[0], path.steps[1:]
        found = dict(readers(view, first, s, p, o))
        later = readers(view, rest[0] if len(rest) == 1 else Seq(rest), s, p, o)
        if later:
            found.update(sources(view, first, later))
        return found
    if isinstance(path, Alt):
        out: dict[Term, None] = {}
        for option in path.options:
            out.update(readers(view, option, s, p, o))
        return out
    direct = readers(view, path.inner, s, p, o)
    if not direct or path.max_one:
        return direct
    return {**direct, **sources(view, Repeat(path.inner, False, False), direct)}


def predicates_of(path: Path) -> set[NamedNode]:
    if isinstance(path, Pred):
        return {path.iri}
    if isinstance(path, Seq):
        return set().union(*(predicates_of(s) for s in path.steps))
    if isinstance(path, Alt):
        return set().union(*(predicates_of(o) for o in path.options))
    return predicates_of(path.inner)


def arrivals(path: Path) -> tuple[frozenset[tuple[NamedNode, bool]], bool]:
    """The steps a traversal of ``path`` can end with, as (predicate, inverse), and whether it
    can be empty (end where it started). A node none of these steps arrives at (no incoming
    ``p`` for a forward step, no outgoing ``p`` for an inverse one) is never a value of it
    but at its own focus."""
    if isinstance(path, Pred):
        return frozenset({(path.iri, path.inverse)}), False
    if isinstance(path, Seq):
        found: set[tuple[NamedNode, bool]] = set()
        for step in reversed(path.steps):
            last, empty = arrivals(step)
            found |= last
            if not empty:
                return frozenset(found), False
        return frozenset(found), True
    if isinstance(path, Alt):
        parts = [arrivals(option) for option in path.options]
        return (frozenset().union(*(last for last, _ in parts)),
                any(empty for _, empty in parts))
    last, empty = arrivals(path.inner)
    return last, empty or not path.min_one
