"""Grounded context for agents: entity resolution over a lexical (BM25) index that follows
every write, descriptions of an entity pruned to a token budget where every fact carries a
citation key, and the resolution of a citation key back to its fact and provenance."""

from __future__ import annotations

import base64
import json
import re
import threading
from itertools import islice
from typing import Any

from semtwin.errors import InvalidInput, NotFound
from semtwin.rdf import BlankNode, Literal, NamedNode, Quad, term_value
from semtwin.services.embeddings import SemanticIndex, load_model
from semtwin.services.lexical import Entity, LexicalIndex, Match, local_name
from semtwin.services.pipeline import JOURNAL, META, WritePipeline
from semtwin.store import SelectResult, TwinStore

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABELS = ("http://www.w3.org/2000/01/rdf-schema#label",
          "http://www.w3.org/2004/02/skos/core#prefLabel",
          "http://www.w3.org/2004/02/skos/core#altLabel",
          "http://www.w3.org/2004/02/skos/core#notation",
          "http://purl.org/dc/terms/identifier",
          "dtmi:dtdl:property:displayName;3", "dtmi:dtdl:property:displayName;2",
          "https://semtwin.dev/opcua#browseName")
_REBUILD_AFTER = 1000
_REINDEX_BATCH = 200
_FUSION_K = 60  # reciprocal rank fusion constant


class GroundingService:
    def __init__(self, store: TwinStore, pipeline: WritePipeline,
                 embeddings: bool = False) -> None:
        self._store = store
        self._pipeline = pipeline
        self._index: LexicalIndex | None = None
        self._semantic: SemanticIndex | None = None
        self._model = load_model() if embeddings else None
        self._seq = 0
        self._lock = threading.Lock()

    # -- the index ---------------------------------------------------------------------------
    def index(self) -> LexicalIndex:
        """The index, brought up to date with every write since it was last used."""
        return self._indexes()[0]

    def _indexes(self) -> tuple[LexicalIndex, SemanticIndex | None]:
        with self._lock:
            head = self._pipeline.journal_head()
            behind = head - self._seq
            if self._index is None or behind > max(_REBUILD_AFTER, len(self._index) // 10):
                self._build()
            elif behind > 0:
                self._catch_up(head)
            self._seq = head
            assert self._index is not None
            return self._index, self._semantic

    def _catch_up(self, head: int) -> None:
        iris = sorted(i for i in self._pipeline.touched_since(self._seq, head)
                      if i.startswith(("http", "urn:", "dtmi:")))
        for start in range(0, len(iris), _REINDEX_BATCH):
            chunk = iris[start:start + _REINDEX_BATCH]
            found = self._entities("VALUES ?s { " + " ".join(f"<{i}>" for i in chunk) + " }")
            for iri in chunk:
                self._put(iri, found.get(iri))

    def _put(self, iri: str, entity: Entity | None) -> None:
        assert self._index is not None
        if entity is None or not entity.terms():
            self._index.remove(iri)
            if self._semantic is not None:
                self._semantic.remove(iri)
            return
        self._index.put(entity)
        if self._semantic is not None:
            self._semantic.put(entity)

    def _entities(self, where: str) -> dict[str, Entity]:
        labels = " ".join(f"<{p}>" for p in LABELS)
        result = self._store.query(
            f"SELECT ?s ?p ?o WHERE {{ {where} {{ ?s ?p ?o VALUES ?p {{ {labels} }} "
            f"FILTER(isLiteral(?o)) }} UNION {{ ?s <{RDF_TYPE}> ?o BIND(<{RDF_TYPE}> AS ?p) "
            f"FILTER(isIRI(?s)) }} }}", union_default_graph=True)
        assert isinstance(result, SelectResult)
        entities: dict[str, Entity] = {}
        for s, p, o in result.rows:
            if not isinstance(s, NamedNode) or s.value.startswith("urn:semtwin:"):
                continue
            entity = entities.setdefault(s.value, Entity(s.value))
            if isinstance(p, NamedNode) and p.value == RDF_TYPE:
                if isinstance(o, NamedNode) and o.value not in entity.types:
                    entity.types.append(o.value)
            elif isinstance(o, Literal) and o.value not in entity.labels:
                entity.labels.append(o.value)
        return entities

    def _build(self) -> None:
        entities = [e for e in self._entities("").values() if e.terms()]
        self._index = LexicalIndex()
        for entity in entities:
            self._index.put(entity)
        if self._model is not None:
            self._semantic = SemanticIndex(self._model)
            self._semantic.put_all(entities)

    # -- tools ---------------------------------------------------------------------------------
    def resolve(self, text: str, k: int = 10, mode: str = "auto") -> dict[str, Any]:
        """Ranked entities for free text. ``mode``: ``lexical`` (BM25 and exact names),
        ``semantic`` (embeddings), ``hybrid`` (both, by reciprocal rank fusion) or ``auto``
        (hybrid when embeddings are enabled, else lexical)."""
        if not text.strip():
            raise InvalidInput("text is required")
        if mode not in ("auto", "lexical", "semantic", "hybrid"):
            raise InvalidInput(f"mode {mode!r}: use lexical, semantic, hybrid or auto")
        if not 1 <= k <= 100:
            raise InvalidInput(f"k={k}: must be between 1 and 100")
        index, semantic = self._indexes()
        if mode == "auto":
            mode = "lexical" if semantic is None else "hybrid"
        if mode != "lexical" and semantic is None:
            raise InvalidInput(f"mode {mode!r} needs SEMTWIN_GROUNDING_EMBEDDINGS=true "
                               "(and the semtwin[embeddings] extra)")
        if mode == "lexical":
            matches = index.search(text, k)
        else:
            assert semantic is not None
            matches = _fuse(index, index.search(text, 50) if mode == "hybrid" else [],
                            semantic.search(text, 50), k)
        return {"text": text, "mode": mode, "matches": [m.json() for m in matches],
                "mentions": index.mentions(text)}

    def describe(self, iri: str, budget: int = 500, fmt: str = "json") -> dict[str, Any]:
        """The entity's facts (outgoing, blank nodes followed, then incoming links), most
        relevant first, until the token budget is spent; each with its citation key."""
        try:
            node = NamedNode(iri)
        except ValueError as err:
            raise InvalidInput(f"iri {iri!r} is not a valid IRI: {err}") from None
        quads = [q for q in self._store.quads(node, None, None, None)
                 if q.graph_name not in (META, JOURNAL)]
        blanks = [q.object for q in quads if isinstance(q.object, BlankNode)]
        closure: list[Quad] = []
        for blank in blanks[:50]:
            closure += list(self._store.quads(blank, None, None, None))
        incoming = list(islice((q for q in self._store.quads(None, None, node, None)
                                if q.graph_name not in (META, JOURNAL)), 200))
        if not quads and not incoming:
            raise NotFound(f"nothing is said about {iri}")
        ordered = sorted([*quads, *incoming], key=lambda q: _relevance(q, node)) + closure
        facts, spent, truncated = [], 0, 0
        versions: dict[str, str | None] = {}
        for quad in ordered:
            fact = self.fact(quad, versions)
            cost = max(1, len(fact["text"]) // 4)
            if spent + cost > budget:
                truncated += 1
                continue
            spent += cost
            facts.append(fact)
        out: dict[str, Any] = {"iri": iri, "tokens": spent, "budget": budget,
                               "facts": len(facts), "truncated": truncated}
        if fmt == "text":
            out["text"] = "\n".join(f"{f['text']} [{f['cite']}]" for f in facts)
        elif fmt == "turtle":
            out["turtle"] = "\n".join(f"{f['s']} {f['p']} {f['o']} . # {f['cite']}"
                                      for f in facts)
        else:
            out["facts"] = facts
        return out

    def fact(self, quad: Quad, versions: dict[str, str | None] | None = None
             ) -> dict[str, Any]:
        """A fact with its citation key; ``versions`` caches graph ETags across facts."""
        graph = "" if not isinstance(quad.graph_name, NamedNode) else quad.graph_name.value
        cache = {} if versions is None else versions
        if graph and graph not in cache:
            cache[graph] = self._pipeline.current_etag(NamedNode(graph))
        etag = cache.get(graph) if graph else None
        key = cite_key(quad, etag)
        text = f"{_short(quad.subject)} {_short(quad.predicate)} {_short(quad.object)}"
        return {"s": str(quad.subject), "p": str(quad.predicate), "o": str(quad.object),
                "graph": graph or None, "version": etag, "text": text, "cite": key}

    def cite(self, key: str) -> dict[str, Any]:
        try:
            raw = json.loads(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))
            s, p, o, g, etag = raw
        except (ValueError, TypeError):
            raise InvalidInput("not a citation key") from None
        from semtwin.rdf import RdfFormat, parse_rdf

        graph_part = f" <{g}>" if g else ""
        try:
            quads = parse_rdf(f"{s} {p} {o}{graph_part} .".encode(), RdfFormat.N_QUADS)
        except Exception:
            raise InvalidInput("not a citation key") from None
        quad = quads[0]
        held = any(True for _ in self._store.quads(quad.subject, quad.predicate, quad.object,
                                                   quad.graph_name))
        current = self._pipeline.current_etag(quad.graph_name) \
            if isinstance(quad.graph_name, NamedNode) else None
        return {"fact": {"s": s, "p": p, "o": o, "graph": g or None}, "holds": held,
                "citedVersion": etag, "currentVersion": current,
                "stale": etag is not None and current != etag}


def cite_key(quad: Quad, etag: str | None) -> str:
    graph = quad.graph_name.value if isinstance(quad.graph_name, NamedNode) else ""
    raw = json.dumps([str(quad.subject), str(quad.predicate), str(quad.object), graph, etag],
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _fuse(index: LexicalIndex, lexical: list[Match], semantic: list[tuple[str, float]],
          k: int) -> list[Match]:
    """Reciprocal rank fusion of the two rankings; an exact name match stays on top."""
    score: dict[str, float] = {}
    why: dict[str, list[str]] = {}
    for rank, match in enumerate(lexical):
        exact = "exact name" in match.why
        score[match.iri] = 1 / (_FUSION_K + rank) + (1.0 if exact else 0.0)
        why[match.iri] = list(match.why)
    for rank, (iri, similarity) in enumerate(semantic):
        if iri not in index.entities:
            continue
        score[iri] = score.get(iri, 0.0) + 1 / (_FUSION_K + rank)
        why.setdefault(iri, []).append(f"similar ({similarity:.2f})")
    ranked = sorted(score, key=lambda i: (-score[i], i))[:k]
    return [Match(iri, index.entities[iri].label(), index.entities[iri].types, score[iri],
                  why[iri]) for iri in ranked]


def _relevance(quad: Quad, node: NamedNode) -> tuple[int, str]:
    """What the entity is, what it is called, how it links to other entities (out, then
    in), then its other values; by predicate within each."""
    predicate = quad.predicate.value
    if quad.subject != node:
        return (4, predicate)
    if predicate == RDF_TYPE:
        return (0, "")
    if predicate in LABELS:
        return (1, "")
    return (2 if isinstance(quad.object, NamedNode) else 5, predicate)


def _short(term: object) -> str:
    if isinstance(term, NamedNode):
        return local_name(term.value) or term.value
    if isinstance(term, Literal):
        return json.dumps(term.value)
    return term_value(term)


_PREFIXED = re.compile(r"(?<![<\w?$])([A-Za-z][\w-]*):([A-Za-z_][\w-]*)")


class AgentQuery:
    """Read-only SPARQL for agents: queries only (never updates), ``SERVICE`` refused by the
    SPARQL service, the server's timeout, a row cap and a token cap on the answer, and hints
    that help repair a failing query."""

    def __init__(self, sparql: Any, grounding: GroundingService) -> None:
        self._sparql = sparql
        self._grounding = grounding

    def run(self, text: str, max_rows: int = 100, max_tokens: int = 2000) -> dict[str, Any]:
        from semtwin.errors import SemtwinError
        from semtwin.services.sparql import QueryRequest
        from semtwin.sparqltext import query_form

        form = query_form(text)
        if form is None:
            raise InvalidInput("only SELECT, ASK, CONSTRUCT or DESCRIBE queries; updates are "
                               "not available to agents",
                               hints=["start the query with SELECT, ASK, CONSTRUCT or "
                                      "DESCRIBE"])
        request = QueryRequest(text=text, accept="application/sparql-results+json"
                               if form in ("SELECT", "ASK") else "application/n-triples",
                               max_rows=max_rows)
        try:
            deadline = self._sparql.new_deadline()
            rendered = self._sparql.query(request, deadline)
        except SemtwinError as err:
            err.extra["hints"] = self.hints(text, err.detail)
            raise
        body = rendered.body.decode("utf-8")
        truncated = False
        if len(body) // 4 > max_tokens:
            body = body[:max_tokens * 4]
            truncated = True
        return {"form": form, "rows": rendered.rows, "mediaType": rendered.media_type,
                "result": body, "truncated": truncated,
                "hints": self.hints(text, None) if rendered.rows == 0 else []}

    def hints(self, text: str, error: str | None) -> list[str]:
        """Unknown prefixes, and classes or properties the graph does not use, with the
        nearest names it does."""
        from semtwin.services.sparql import DEFAULT_PREFIXES

        out: list[str] = []
        declared = set(re.findall(r"PREFIX\s+([A-Za-z][\w-]*)?:", text, re.IGNORECASE))
        known = set(DEFAULT_PREFIXES) | declared
        for prefix, _local in _PREFIXED.findall(re.sub(r"<[^>]*>|\"[^\"]*\"", "", text)):
            if prefix not in known and prefix not in ("http", "https", "urn", "dtmi"):
                out.append(f"prefix {prefix}: is not declared (known: "
                           f"{', '.join(sorted(DEFAULT_PREFIXES))})")
                known.add(prefix)
        index = self._grounding.index()
        used_types = index.type_counts
        for iri in re.findall(r"<([^>\s]+)>", text):
            if iri in used_types or iri in index.entities:
                continue
            suggestions = [m.iri for m in index.search(local_name(iri), 3)]
            near = [t for t in used_types if local_name(t).lower() == local_name(iri).lower()]
            if near or suggestions:
                out.append(f"<{iri}> is not used in the graph; did you mean "
                           f"{', '.join(f'<{s}>' for s in (near or suggestions)[:3])}?")
        if error and "timeout" in error.lower():
            out.append("the query ran out of time: add LIMIT, or bind a type or an IRI first")
        return out


class ClaimChecker:
    """Claims (subject, property, value) against the graph and its active shapes:
    ``supported`` when the graph states it, ``contradicted`` when the graph states another
    value where the shapes allow only one, or when the shapes rule the value out, else
    ``unknown``; with the facts (and citation keys) or the shape report that decided."""

    def __init__(self, store: TwinStore, pipeline: WritePipeline,
                 grounding: GroundingService) -> None:
        self._store = store
        self._pipeline = pipeline
        self._grounding = grounding

    def check(self, claims: Any) -> dict[str, Any]:
        if not isinstance(claims, list) or not claims or len(claims) > 100:
            raise InvalidInput('claims is a list of 1 to 100 {"s", "p", "o"} objects')
        return {"results": [self._one(claim, i) for i, claim in enumerate(claims)]}

    def _one(self, claim: Any, index: int) -> dict[str, Any]:
        from semtwin.errors import ShapeViolation
        from semtwin.services.pipeline import Changeset

        if not isinstance(claim, dict) or not all(isinstance(claim.get(k), (str, int, float,
                                                                            bool, dict))
                                                  for k in ("s", "p", "o")):
            raise InvalidInput(f"claims[{index}]: give s and p as IRIs and o as an IRI "
                               '({"@id": ...}) or a literal value')
        try:
            subject, predicate = NamedNode(str(claim["s"])), NamedNode(str(claim["p"]))
        except ValueError as err:
            raise InvalidInput(f"claims[{index}]: {err}") from None
        value = _term(claim["o"], index)
        versions: dict[str, str | None] = {}
        stated = [q for q in self._store.quads(subject, predicate, None, None)
                  if q.graph_name not in (META, JOURNAL)]
        same = [q for q in stated if _same(q.object, value)]
        if same:
            return {"claim": claim, "verdict": "supported",
                    "facts": [self._grounding.fact(q, versions) for q in same]}
        graph = subject if self._pipeline.current_etag(subject) is not None else None
        target = Quad(subject, predicate, value, graph) if graph is not None else \
            Quad(subject, predicate, value)
        try:
            if self._pipeline.check is not None:
                self._pipeline.check(Changeset(event_type="check", subject=subject,
                                               add=[target]))
        except ShapeViolation as err:
            return {"claim": claim, "verdict": "contradicted", "reason": "shapes",
                    "report": err.extra.get("report"),
                    "facts": [self._grounding.fact(q, versions) for q in stated]}
        if stated and self._single_valued(subject, predicate):
            return {"claim": claim, "verdict": "contradicted", "reason": "another value",
                    "facts": [self._grounding.fact(q, versions) for q in stated]}
        return {"claim": claim, "verdict": "unknown",
                "facts": [self._grounding.fact(q, versions) for q in stated]}

    def _single_valued(self, subject: NamedNode, predicate: NamedNode) -> bool:
        """Whether the property is an owl:FunctionalProperty (a shape's sh:maxCount 1 is
        caught by the shape check before this)."""
        functional = self._store.query(
            f"ASK {{ {predicate} a <http://www.w3.org/2002/07/owl#FunctionalProperty> }}",
            union_default_graph=True)
        return bool(getattr(functional, "value", False))


def _term(value: Any, index: int) -> Any:
    if isinstance(value, dict):
        if set(value) == {"@id"} and isinstance(value["@id"], str):
            try:
                return NamedNode(value["@id"])
            except ValueError as err:
                raise InvalidInput(f"claims[{index}].o: {err}") from None
        if "@value" in value:
            datatype = value.get("@type")
            return Literal(str(value["@value"]), datatype=NamedNode(datatype)) \
                if isinstance(datatype, str) else Literal(str(value["@value"]))
        raise InvalidInput(f"claims[{index}].o: {{\"@id\": IRI}} or {{\"@value\": ...}}")
    return Literal(value)


def _same(stated: Any, claimed: Any) -> bool:
    if stated == claimed:
        return True
    if isinstance(stated, Literal) and isinstance(claimed, Literal):
        try:
            return float(stated.value) == float(claimed.value)
        except ValueError:
            return stated.value == claimed.value and not claimed.language
    return False


_CLASS_TYPES = {"http://www.w3.org/2002/07/owl#Class",
                "http://www.w3.org/2000/01/rdf-schema#Class",
                "http://www.w3.org/ns/shacl#NodeShape",
                "dtmi:dtdl:class:Interface;3", "dtmi:dtdl:class:Interface;2"}
SH = "http://www.w3.org/ns/shacl#"


class SchemaSummary:
    """The classes relevant to a question (or given), with their superclasses, how many
    instances the store holds, the properties those instances use, the shapes' constraints,
    and example queries; within a token budget."""

    def __init__(self, store: TwinStore, grounding: GroundingService) -> None:
        self._store = store
        self._grounding = grounding

    def summary(self, classes: list[str] | None, question: str | None,
                budget: int = 800) -> dict[str, Any]:
        chosen = list(dict.fromkeys(classes or []))
        if question:
            for match in self._grounding.index().search(question, 10):
                if _CLASS_TYPES & set(match.types):
                    chosen.append(match.iri)
                chosen += [t for t in match.types if t not in _CLASS_TYPES]
            chosen = list(dict.fromkeys(chosen))
        if not chosen:
            raise InvalidInput("give classes=IRI,... or a question naming what you look for")
        out, spent, left_out = [], 0, 0
        for iri in chosen[:10]:
            try:
                NamedNode(iri)
            except ValueError:
                raise InvalidInput(f"{iri!r} is not an IRI") from None
            entry = self._describe_class(iri)
            cost = len(json.dumps(entry)) // 4
            if spent + cost > budget:
                left_out += 1
                continue
            spent += cost
            out.append(entry)
        return {"classes": out, "tokens": spent, "budget": budget,
                "truncated": left_out + max(0, len(chosen) - 10)}

    def _select(self, query: str) -> list[tuple[Any, ...]]:
        result = self._store.query(query, union_default_graph=True)
        assert isinstance(result, SelectResult)
        return [tuple(row) for row in result.rows]

    def _describe_class(self, iri: str) -> dict[str, Any]:
        c = f"<{iri}>"
        labels = [term_value(r[0]) for r in self._select(
            f"SELECT ?l WHERE {{ {c} <http://www.w3.org/2000/01/rdf-schema#label>|"
            f"<dtmi:dtdl:property:displayName;3> ?l }} LIMIT 3")]
        supers = [term_value(r[0]) for r in self._select(
            f"SELECT DISTINCT ?s WHERE {{ {c} <http://www.w3.org/2000/01/rdf-schema#"
            f"subClassOf> ?s FILTER(isIRI(?s)) }} LIMIT 10")]
        count_rows = self._select(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a {c} }}")
        count = int(term_value(count_rows[0][0])) if count_rows and count_rows[0][0] else 0
        used = [(term_value(p), int(term_value(n))) for p, n in self._select(
            f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ ?x a {c} ; ?p ?o }} GROUP BY ?p "
            f"ORDER BY DESC(?n) LIMIT 12") if p is not None and n is not None]
        constraints = []
        for path, datatype, cls, low, high in self._select(
                f"SELECT ?path ?dt ?cls ?min ?max WHERE {{ "
                f"{{ {c} <{SH}property> ?ps }} UNION {{ ?sh <{SH}targetClass> {c} ; "
                f"<{SH}property> ?ps }} ?ps <{SH}path> ?path FILTER(isIRI(?path)) "
                f"OPTIONAL {{ ?ps <{SH}datatype> ?dt }} OPTIONAL {{ ?ps <{SH}class> ?cls }} "
                f"OPTIONAL {{ ?ps <{SH}minCount> ?min }} OPTIONAL {{ ?ps <{SH}maxCount> ?max }}"
                f" }} LIMIT 30"):
            rule: dict[str, Any] = {"path": term_value(path)}
            if datatype is not None:
                rule["datatype"] = term_value(datatype)
            if cls is not None:
                rule["class"] = term_value(cls)
            if low is not None:
                rule["minCount"] = int(term_value(low))
            if high is not None:
                rule["maxCount"] = int(term_value(high))
            constraints.append(rule)
        examples = [f"SELECT ?x WHERE {{ ?x a {c} }} LIMIT 10"]
        interesting = [p for p, _ in used if p != RDF_TYPE]
        if interesting:
            examples.append(f"SELECT ?x ?v WHERE {{ ?x a {c} ; <{interesting[0]}> ?v }} "
                            "LIMIT 10")
        return {"iri": iri, "labels": labels, "superclasses": supers, "instances": count,
                "propertiesUsed": [{"property": p, "count": n} for p, n in used],
                "constraints": constraints, "exampleQueries": examples}
