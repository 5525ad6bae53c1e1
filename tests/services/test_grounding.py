"""Grounding on real data (Brick models, RealEstateCore) in a real store: entity resolution
quality on a labelled set, the index following writes, budgets, citations."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from tests.conftest import shared_data

from semtwin.errors import SemtwinError
from semtwin.mappings import SourceFile
from semtwin.rdf import NamedNode
from semtwin.runtime import Semtwin
from semtwin.services.grounding import GroundingService
from semtwin.services.lexical import tokenize
from semtwin.settings import Settings

SODA = "https://brickschema.org/schema/1.0.2/building_example#"
NAME = "dtmi:digitaltwins:rec_3_3:core:Space:_contents:__name;1"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Semtwin]:
    rt = Semtwin.open(Settings(store=str(tmp_path_factory.mktemp("ground") / "db")))
    rt.models.ensure_core()
    for name in ("soda_brick.ttl", "rice_brick.ttl"):
        rt.graphs.put(NamedNode(f"urn:ex:{name}"),
                      shared_data("brick", "examples", name).read_bytes(), "text/turtle", None)
    rec = shared_data("dtdl", "realestatecore")
    rt.imports.run("dtdl", [SourceFile(str(p), p.read_bytes())
                            for p in sorted(rec.rglob("*.json"))], version="3.3",
                   activate=True)
    yield rt
    rt.close()


def _gold(runtime: Semtwin) -> list[tuple[str, str]]:
    """Mentions with their gold IRIs, from the data itself: REC interfaces by display name,
    Soda Hall equipment by how people write their tags (``ahu_A1`` -> "AHU A1")."""
    out: list[tuple[str, str]] = []
    rec = runtime.sparql.evaluate(__import__("semtwin.services.sparql", fromlist=["x"])
                                  .QueryRequest(text="""
        SELECT ?i ?n WHERE { ?i a <dtmi:dtdl:class:Interface;3> ;
          <dtmi:dtdl:property:displayName;3> ?n } ORDER BY ?i"""))
    rows = [(r[0].value, r[1].value) for r in rec.rows]  # type: ignore[union-attr]
    names = [n for _, n in rows]
    unique = [(i, n) for i, n in rows if names.count(n) == 1]
    # as people write them: "ClimateControlRoom" -> "climate control room"
    out += [(" ".join(tokenize(n)), i) for i, n in unique[::6][:60]]
    soda = runtime.sparql.evaluate(__import__("semtwin.services.sparql", fromlist=["x"])
                                   .QueryRequest(text=f"""
        SELECT DISTINCT ?s WHERE {{ ?s a ?t FILTER(STRSTARTS(STR(?s), "{SODA}")) }}
        ORDER BY ?s"""))
    equipment = [r[0].value for r in soda.rows  # type: ignore[union-attr]
                 if re.fullmatch(r"(ahu|vav|fcu|chiller|pump)_[A-Za-z0-9]+",
                                 r[0].value[len(SODA):])]  # type: ignore[union-attr]
    for iri in equipment[:60]:
        kind, _, tag = iri[len(SODA):].partition("_")
        out.append((f"{kind.upper()} {tag}", iri))
    return out


def test_entity_resolution_quality(runtime: Semtwin) -> None:
    gold = _gold(runtime)
    assert len(gold) >= 100
    hits1 = recall5 = 0
    reciprocal = 0.0
    for mention, iri in gold:
        ranked = [m["iri"] for m in runtime.grounding.resolve(mention, 10)["matches"]]
        if ranked[:1] == [iri]:
            hits1 += 1
        if iri in ranked[:5]:
            recall5 += 1
        if iri in ranked:
            reciprocal += 1 / (ranked.index(iri) + 1)
    n = len(gold)
    print(f"resolve on {n} mentions: Hits@1 {hits1 / n:.3f}, Recall@5 {recall5 / n:.3f}, "
          f"MRR {reciprocal / n:.3f}")
    assert hits1 / n >= 0.8
    assert recall5 / n >= 0.95


def test_the_index_follows_every_write(runtime: Semtwin) -> None:
    assert runtime.grounding.resolve("zeta nine pump", 3)["matches"][:1] == [] or \
        runtime.grounding.resolve("zeta nine pump", 3)["matches"][0]["label"] != "Zeta Nine Pump"
    runtime.twins.put("zeta9", {"$types": ["https://ex.org/Pump"], "properties": {
        "http://www.w3.org/2000/01/rdf-schema#label": "Zeta Nine Pump"}})
    found = runtime.grounding.resolve("zeta nine pump", 3)
    assert found["matches"][0]["label"] == "Zeta Nine Pump"
    assert found["mentions"][0]["text"] == "zeta nine pump"
    runtime.twins.delete("zeta9")
    after = runtime.grounding.resolve("zeta nine pump", 3)["matches"]
    assert not after or after[0]["label"] != "Zeta Nine Pump"


def test_describe_keeps_to_the_budget_and_cites_every_fact(runtime: Semtwin) -> None:
    small = runtime.grounding.describe(f"{SODA}ahu_A1", budget=60)
    large = runtime.grounding.describe(f"{SODA}ahu_A1", budget=5000)
    assert small["tokens"] <= 60 < large["tokens"]
    assert small["truncated"] > 0 and small["facts"] < large["facts"]
    first = small["facts"][0]
    assert first["p"].endswith("#type>")           # types first
    cited = runtime.grounding.cite(first["cite"])
    assert cited["holds"] is True and cited["fact"]["graph"] == "urn:ex:soda_brick.ttl"


def test_citation_of_a_twin_goes_stale_when_the_twin_changes(runtime: Semtwin) -> None:
    runtime.twins.put("cited", {"$types": ["https://ex.org/Pump"], "properties": {
        "https://ex.org/rpm": 1200}})
    facts = runtime.grounding.describe("urn:twin:cited", budget=500)["facts"]
    rpm = next(f for f in facts if f["p"] == "<https://ex.org/rpm>")
    assert runtime.grounding.cite(rpm["cite"])["stale"] is False
    runtime.twins.put("cited", {"$types": ["https://ex.org/Pump"], "properties": {
        "https://ex.org/rpm": 1500}})
    after = runtime.grounding.cite(rpm["cite"])
    assert after["stale"] is True and after["holds"] is False




def test_agent_query_is_read_only_capped_and_gives_repair_hints(runtime: Semtwin) -> None:
    from semtwin.errors import SemtwinError

    answer = runtime.agent_query.run(
        "SELECT ?s WHERE { ?s a <https://brickschema.org/schema/Brick#AHU> }", max_rows=100)
    assert answer["form"] == "SELECT" and answer["rows"] > 0
    small = runtime.agent_query.run("SELECT * WHERE { ?s ?p ?o }", max_rows=100000,
                                    max_tokens=50)
    assert small["truncated"] is True and len(small["result"]) <= 200
    with pytest.raises(SemtwinError) as refused:
        runtime.agent_query.run("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    assert "updates are not available" in refused.value.detail
    with pytest.raises(SemtwinError):
        runtime.agent_query.run("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    hinted = runtime.agent_query.run(
        "SELECT ?s WHERE { ?s a <https://brickschema.org/schema/Brick#Ahu> }")
    assert hinted["rows"] == 0
    assert any("Brick#AHU" in h for h in hinted["hints"])
    with pytest.raises(SemtwinError) as unknown:
        runtime.agent_query.run("SELECT ?s WHERE { ?s a bricky:AHU }")
    assert any("bricky" in h for h in unknown.value.extra["hints"])


def test_claim_checking_accuracy(runtime: Semtwin) -> None:
    """True claims are facts of the Soda Hall model; false ones move an object to another
    subject of the same property; shape contradictions are values REC's shapes rule out."""
    from semtwin.services.sparql import QueryRequest

    rows = runtime.sparql.evaluate(QueryRequest(text=f"""
        SELECT ?s ?p ?o WHERE {{ GRAPH <urn:ex:soda_brick.ttl> {{ ?s ?p ?o
        FILTER(isIRI(?o) && STRSTARTS(STR(?s), "{SODA}")) }} }} ORDER BY ?s ?p ?o""")).rows
    facts = [(r[0].value, r[1].value, r[2].value) for r in rows]  # type: ignore[union-attr]
    true_claims = facts[::max(1, len(facts) // 60)][:60]
    stated = set(facts)
    false_claims = []
    for s, p, o in true_claims:
        other = next((f[2] for f in facts if f[1] == p and f[2] != o
                      and (s, p, f[2]) not in stated), None)
        if other is not None:
            false_claims.append((s, p, other))
    runtime.twins.put("room-r1", {"$types": ["dtmi:digitaltwins:rec_3_3:core:Room;1"],
                                  "properties": {NAME: "R1"}})
    shape_claims = [("urn:twin:room-r1", NAME, 42), ("urn:twin:room-r1", NAME, "R2")]
    claims = [{"s": s, "p": p, "o": {"@id": o}} for s, p, o in true_claims + false_claims]
    claims += [{"s": s, "p": p, "o": o} for s, p, o in shape_claims]
    results = []
    for start in range(0, len(claims), 100):
        results += runtime.claims.check(claims[start:start + 100])["results"]
    expected = (["supported"] * len(true_claims) + ["not supported"] * len(false_claims)
                + ["contradicted"] * len(shape_claims))
    right = 0
    for result, want in zip(results, expected, strict=True):
        verdict = result["verdict"]
        right += verdict == want or (want == "not supported" and verdict != "supported")
    accuracy = right / len(expected)
    print(f"check on {len(expected)} claims: accuracy {accuracy:.3f}")
    assert len(expected) >= 100
    assert accuracy >= 0.95
    supported = results[0]
    assert supported["facts"] and supported["facts"][0]["cite"]
    assert results[-2]["reason"] == "shapes" and results[-1]["verdict"] == "contradicted"


def test_schema_summary_for_a_question(runtime: Semtwin) -> None:
    summary = runtime.schema.summary(None, "air handling unit", budget=3000)
    iris = [c["iri"] for c in summary["classes"]]
    assert "dtmi:digitaltwins:rec_3_3:asset:AirHandlingUnit;1" in iris
    ahu = runtime.schema.summary(["https://brickschema.org/schema/Brick#AHU"], None, 3000)
    entry = ahu["classes"][0]
    assert entry["instances"] > 0
    assert any(p["property"].endswith("#feeds") for p in entry["propertiesUsed"])
    assert entry["exampleQueries"][0].startswith("SELECT ?x WHERE")
    room = runtime.schema.summary(["dtmi:digitaltwins:rec_3_3:core:Room;1"], None, 3000)
    assert room["classes"][0]["superclasses"] == ["dtmi:digitaltwins:rec_3_3:core:Space;1"]
    space = runtime.schema.summary(["dtmi:digitaltwins:rec_3_3:core:Space;1"], None, 3000)
    assert any(c["path"] == NAME and c.get("maxCount") == 1
               for c in space["classes"][0]["constraints"])
    tight = runtime.schema.summary(["dtmi:digitaltwins:rec_3_3:core:Space;1",
                                    "https://brickschema.org/schema/Brick#AHU"], None, 50)
    assert tight["truncated"] >= 1 and tight["tokens"] <= 50


def _ranking_quality(grounding: GroundingService, gold: list[tuple[str, str]],
                     mode: str) -> tuple[float, float, float]:
    hits1 = recall5 = 0
    reciprocal = 0.0
    for mention, iri in gold:
        ranked = [m["iri"] for m in grounding.resolve(mention, 10, mode)["matches"]]
        hits1 += ranked[:1] == [iri]
        recall5 += iri in ranked[:5]
        reciprocal += 1 / (ranked.index(iri) + 1) if iri in ranked else 0.0
    n = len(gold)
    return hits1 / n, recall5 / n, reciprocal / n


def test_embeddings_find_entities_from_descriptions_and_keep_names_exact(
        runtime: Semtwin) -> None:
    """The optional embedding path (model shipped in the wordllama wheel): REC interfaces
    found from their descriptions (text that is not indexed and rarely repeats a name), and
    hybrid ranking keeps the lexical path's quality on names."""
    pytest.importorskip("wordllama")
    from semtwin.services.sparql import QueryRequest

    grounding = GroundingService(runtime.store, runtime.pipeline, embeddings=True)
    rows = runtime.sparql.evaluate(QueryRequest(text="""
        SELECT ?i ?d WHERE { ?i a <dtmi:dtdl:class:Interface;3> ;
          <dtmi:dtdl:property:description;3> ?d } ORDER BY ?i""")).rows
    described = [(r[1].value, r[0].value) for r in rows]  # type: ignore[union-attr]
    assert len(described) >= 30
    lexical = _ranking_quality(grounding, described, "lexical")
    semantic = _ranking_quality(grounding, described, "semantic")
    hybrid = _ranking_quality(grounding, described, "hybrid")
    names = _ranking_quality(grounding, _gold(runtime), "hybrid")
    print(f"descriptions (Hits@1, R@5, MRR): lexical {lexical}, semantic {semantic}, "
          f"hybrid {hybrid}; names, hybrid: {names}")
    assert semantic[2] > lexical[2] and hybrid[2] > lexical[2]
    assert names[0] >= 0.8 and names[1] >= 0.95
    assert grounding.resolve("air handler", 5)["mode"] == "hybrid"
    with pytest.raises(SemtwinError):
        runtime.grounding.resolve("air handler", 5, "semantic")  # not enabled there


def test_describe_recall_of_gold_facts_per_token_budget(runtime: Semtwin) -> None:
    """Gold facts of 40 Soda Hall entities: their types and every link to or from another
    entity of the model (feeds, points, parts, locations), read with SPARQL. Recall of the
    gold facts among what describe returns grows with the budget and is complete at 800."""
    from semtwin.services.sparql import QueryRequest

    entities = [r[0].value for r in runtime.sparql.evaluate(QueryRequest(text=f"""
        SELECT DISTINCT ?s WHERE {{ GRAPH <urn:ex:soda_brick.ttl> {{ ?s a ?t }}
        FILTER(STRSTARTS(STR(?s), "{SODA}")) }} ORDER BY ?s""")).rows]  # type: ignore[union-attr]
    sample = entities[::max(1, len(entities) // 40)][:40]
    curve: dict[int, float] = {}
    for budget in (50, 100, 200, 400, 800):
        found = wanted = 0
        for iri in sample:
            gold = {(r[0].value, r[1].value, r[2].value)  # type: ignore[union-attr]
                    for r in runtime.sparql.evaluate(QueryRequest(text=f"""
                SELECT ?s ?p ?o WHERE {{ GRAPH <urn:ex:soda_brick.ttl> {{
                  {{ BIND(<{iri}> AS ?s) ?s ?p ?o FILTER(isIRI(?o)) }}
                  UNION {{ BIND(<{iri}> AS ?o) ?s ?p ?o }} }} }}""")).rows}
            facts = runtime.grounding.describe(iri, budget=budget)["facts"]
            got = {(f["s"][1:-1], f["p"][1:-1], f["o"][1:-1]) for f in facts}
            wanted += len(gold)
            found += len(gold & got)
        curve[budget] = found / wanted
    print("describe recall of gold facts per budget:",
          {b: round(r, 3) for b, r in curve.items()})
    values = list(curve.values())
    assert values == sorted(values)
    assert curve[800] >= 0.95 and curve[50] < curve[800]
