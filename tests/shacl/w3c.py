"""The W3C SHACL test suite, read from its manifests: each test's data and shapes graphs and
the expected report, compared with what semtwin's validator reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from semtwin.rdf import BlankNode, Literal, NamedNode, Quad, RdfFormat, Term, parse
from semtwin.shacl import MemoryGraph, ShapesError, ShapesGraph, Validator
from semtwin.shacl.graph import GraphView, StoreView, rdf_list
from semtwin.shacl.paths import parse_path
from semtwin.shacl.vocab import RDF_TYPE, sh
from semtwin.store.embedded import EmbeddedStore

SUITE = Path(__file__).resolve().parents[3] / "shared" / "data" / "shacl" / "w3c-test-suite"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
SHT = "http://www.w3.org/ns/shacl-test#"


def load(path: Path) -> MemoryGraph:
    return MemoryGraph(parse(path=str(path), format=RdfFormat.TURTLE, base_iri=path.as_uri()))


@dataclass
class W3cTest:
    name: str
    file: Path
    data: Path
    shapes: Path
    expect_failure: bool
    expected: set[tuple[str, ...]]
    conforms: bool | None

    def run(self, on_store: bool = False) -> tuple[bool | None, set[tuple[str, ...]], set[str]]:
        """(conforms, result keys, unsupported components); conforms None = shapes error.
        ``on_store``: the data graph is read from a real (in-memory) store, as writes and
        ``validate --store`` read it, instead of from an in-memory index."""
        data, shapes_view = load(self.data), load(self.shapes)
        view: GraphView = data
        if on_store:
            store = EmbeddedStore(None)
            store.add_quads([Quad(t.subject, t.predicate, t.object) for t in data.triples()])
            view = StoreView(store)
        try:
            shapes = ShapesGraph(shapes_view)
            report = Validator(shapes, view).validate_all()
        except ShapesError:
            return None, set(), set()
        keys = {result_key(shapes_view, r.focus, r.path_node, r.value, r.severity,
                           r.component, r.shape) for r in report.results}
        return report.conforms, keys, report.unsupported


def _show(view: MemoryGraph, term: Term | None, kind: str) -> str:
    if term is None:
        return "-"
    if isinstance(term, BlankNode):
        if kind == "path":
            return str(parse_path(view, term))
        return "_:"
    return str(term)


def result_key(view: MemoryGraph, focus: Term, path: Term | None, value: Term | None,
               severity: Term, component: Term, shape: Term) -> tuple[str, ...]:
    return (_show(view, focus, "node"), _show(view, path, "path"), _show(view, value, "node"),
            str(severity), str(component), _show(view, shape, "node"))


def manifests(path: Path) -> Iterator[Path]:
    graph = load(path)
    me = NamedNode(path.as_uri())
    yield path
    for included in graph.objects(me, NamedNode(MF + "include")):
        assert isinstance(included, NamedNode)
        yield from manifests(Path(included.value.removeprefix("file://")))


def tests_in(manifest: Path) -> Iterator[W3cTest]:
    graph = load(manifest)
    for entries in graph.objects(NamedNode(manifest.as_uri()), NamedNode(MF + "entries")):
        for entry in rdf_list(graph, entries):
            if NamedNode(SHT + "Validate") not in graph.objects(entry, RDF_TYPE):
                continue
            action = graph.objects(entry, NamedNode(MF + "action"))[0]
            data = graph.objects(action, NamedNode(SHT + "dataGraph"))[0]
            shapes = graph.objects(action, NamedNode(SHT + "shapesGraph"))[0]
            result = graph.objects(entry, NamedNode(MF + "result"))[0]
            expected: set[tuple[str, ...]] = set()
            conforms = None
            failure = result == NamedNode(SHT + "Failure")
            if not failure:
                flag = graph.objects(result, sh("conforms"))[0]
                conforms = isinstance(flag, Literal) and flag.value == "true"
                for r in graph.objects(result, sh("result")):
                    def one(name: str, r: Term = r) -> Term | None:
                        found = graph.objects(r, sh(name))
                        return found[0] if found else None
                    expected.add(result_key(graph, one("focusNode"),  # type: ignore[arg-type]
                                            one("resultPath"), one("value"),
                                            one("resultSeverity"),  # type: ignore[arg-type]
                                            one("sourceConstraintComponent"),  # type: ignore[arg-type]
                                            one("sourceShape")))  # type: ignore[arg-type]
            name = str(entry).strip("<>").split("w3c-test-suite/")[-1]
            yield W3cTest(name, manifest, Path(str(data).strip("<>").removeprefix("file://")),
                          Path(str(shapes).strip("<>").removeprefix("file://")), failure,
                          expected, conforms)


def all_tests(section: str) -> list[W3cTest]:
    return [t for m in manifests(SUITE / section / "manifest.ttl") for t in tests_in(m)]
