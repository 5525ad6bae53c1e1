"""A small in-memory SPARQL engine for work that must not touch the real store: instantiating
update templates with given solutions, and evaluating an update's ``WHERE`` over a copy of
the graphs it reads when earlier operations of the same request changed them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyoxigraph as ox

from semtwin.errors import InvalidInput
from semtwin.rdf import Literal, NamedNode, Quad, Term
from semtwin.store._protocol import QueryDataset, SelectResult

_PROBE = NamedNode("urn:semtwin:probe")


class ScratchStore:
    def __init__(self, quads: Iterable[Quad] = ()) -> None:
        self._store = ox.Store()
        self._store.extend(quads)

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        try:
            self._store.update(sparql, base_iri=base_iri)
        except SyntaxError as err:
            raise InvalidInput(f"malformed SPARQL update: {err.msg}") from None
        except (ValueError, OSError) as err:
            raise InvalidInput(f"the update cannot be applied: {err}") from None

    def select(self, sparql: str, *, dataset: QueryDataset | None = None,
               base_iri: str | None = None, prefixes: Mapping[str, str] | None = None,
               substitutions: Mapping[str, Term] | None = None) -> SelectResult:
        """``substitutions``: variables bound before evaluation (SEP-0007); one the query
        cannot take (not projected) is ``InvalidInput``."""
        kwargs: dict[str, object] = {}
        if dataset:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in dataset.default_graphs]
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in dataset.named_graphs]
        if prefixes:
            kwargs["prefixes"] = dict(prefixes)
        if substitutions:
            kwargs["substitutions"] = {ox.Variable(k): v for k, v in substitutions.items()}
        try:
            result = self._store.query(sparql, base_iri=base_iri, **kwargs)  # type: ignore[arg-type]
        except SyntaxError as err:
            raise InvalidInput(f"malformed SPARQL: {err.msg}") from None
        except RuntimeError as err:
            raise InvalidInput(f"cannot bind before evaluation: {err}") from None
        assert isinstance(result, ox.QuerySolutions)
        width = len(result.variables)
        return SelectResult([v.value for v in result.variables],
                            iter([tuple(row[i] for i in range(width)) for row in result]))

    def quads(self) -> list[Quad]:
        return list(self._store)


def oxigraph_stored_form(literal: Literal) -> Literal:
    """What Oxigraph's storage gives back for a literal: it keeps numbers, booleans and
    times as values (``"+7"^^xsd:int`` → ``"7"^^xsd:integer``, oxigraph issue #526). Read
    off a throwaway in-memory store, which encodes terms the same way (2.5 µs)."""
    store = ox.Store()
    store.add(ox.Quad(_PROBE, _PROBE, literal))
    stored = next(iter(store)).object
    assert isinstance(stored, Literal)
    return stored
