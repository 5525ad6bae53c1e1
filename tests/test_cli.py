"""The CLI on a real store directory, and durability across a hard kill of the server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from tests.conftest import ServerProcess, free_port, shared_data


def semtwin(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "semtwin", *args], capture_output=True,
                            text=True, timeout=300, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"semtwin {args} failed: {result.stderr}")
    return result


def test_help_everywhere() -> None:
    for command in ([], ["serve"], ["load"], ["dump"], ["query"], ["backup"], ["validate"]):
        result = semtwin(*command, "--help")
        assert "Usage:" in result.stdout


def test_load_query_dump_reload_backup(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    rice = shared_data("brick", "examples", "rice_brick.ttl")
    loaded = semtwin("load", str(rice), "--store", store, "--graph", "https://ex/rice")
    assert "quads added" in loaded.stderr
    assert "compacted in" in loaded.stderr  # bulk-loaded files merged before a server reads

    count = semtwin("query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--store", store,
                    "--format", "json")
    n = int(json.loads(count.stdout)["results"]["bindings"][0]["n"]["value"])
    assert n > 1000
    table = semtwin("query", "SELECT ?c WHERE { ?s a ?c } LIMIT 2", "--store", store)
    assert table.stdout.splitlines()[0].strip() == "c"

    dump_file = tmp_path / "all.nq"
    semtwin("dump", "--store", store, "--output", str(dump_file))
    copy = str(tmp_path / "copy")
    reloaded = semtwin("load", str(dump_file), "--store", copy, "--no-compact")
    assert "compacted" not in reloaded.stderr
    recount = semtwin("query", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://ex/rice> "
                      "{ ?s ?p ?o } }", "--store", copy, "--format", "csv")
    assert recount.stdout.splitlines()[1] == str(n)

    semtwin("backup", str(tmp_path / "bak"), "--store", store)
    from_backup = semtwin("query", "ASK { GRAPH <https://ex/rice> { ?s ?p ?o } }",
                          "--store", str(tmp_path / "bak"))
    assert from_backup.stdout.strip() == "true"


def test_bad_file_loads_nothing(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:d ex:e \"open .\n")
    result = semtwin("load", str(bad), "--store", store, check=False)
    assert result.returncode != 0
    assert "line 3" in result.stderr and "nothing was loaded" in result.stderr
    empty = semtwin("query", "ASK { ?s ?p ?o }", "--store", store)
    assert empty.stdout.strip() == "false"


def test_a_literal_xml_cannot_carry_loads_nothing(tmp_path: Path) -> None:
    """The bulk path refuses what every write door refuses: a control character that would
    make every RDF/XML export and SPARQL XML result including it malformed."""
    store = str(tmp_path / "db")
    bad = tmp_path / "bell.nt"
    bad.write_text('<http://e/a> <http://e/b> "fine" .\n'
                   '<http://e/c> <http://e/d> "ring\\u0007here" .\n')
    result = semtwin("load", str(bad), "--store", store, check=False)
    assert result.returncode != 0
    assert "statement 2" in result.stderr and "U+0007" in result.stderr
    assert "nothing was loaded" in result.stderr
    empty = semtwin("query", "ASK { ?s ?p ?o }", "--store", store)
    assert empty.stdout.strip() == "false"


def test_malformed_query_on_cli(tmp_path: Path) -> None:
    result = semtwin("query", "SELECT * WHERE {", "--store", str(tmp_path / "db"), check=False)
    assert result.returncode != 0
    assert "line 1" in result.stderr


def test_refuses_non_loopback_bind(tmp_path: Path) -> None:
    result = semtwin("serve", "--memory", "--host", "0.0.0.0", "--port", "1", check=False)
    assert result.returncode != 0
    assert "refusing to bind 0.0.0.0" in result.stderr


def test_store_in_use_is_a_clear_error(start_server: type[ServerProcess],
                                       tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    start_server(store=store, port=free_port()).start()
    result = semtwin("query", "ASK {}", "--store", store, check=False)
    assert result.returncode != 0
    assert "in use by another process" in result.stderr


def test_acknowledged_writes_survive_kill_9(start_server: type[ServerProcess],
                                            tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    port = free_port()
    first = start_server(store=store, port=port).start()
    for i in range(50):
        response = httpx.post(
            f"{first.url}/sparql",
            data={"update": f"INSERT DATA {{ GRAPH <http://e/g> {{ <http://e/s{i}> "
                            f"<http://e/p> {i} }} }}"},
        )
        assert response.status_code == 204
    put = httpx.put(f"{first.url}/graphs", params={"graph": "http://e/h"},
                    content="<http://e/a> <http://e/b> <http://e/c> .",
                    headers={"Content-Type": "text/turtle"})
    assert put.status_code == 201
    first.stop(signal.SIGKILL)
    second = start_server(store=store, port=port).start()
    count = httpx.get(f"{second.url}/sparql", params={
        "query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                 "FILTER(?g IN (<http://e/g>, <http://e/h>)) }"}).json()
    assert count["results"]["bindings"][0]["n"]["value"] == "51"
    # and every journaled write (SPARQL Update, Graph Store) kept its event
    events = httpx.get(f"{second.url}/api/v1/events",
                       params={"after": 0, "limit": 1000}).json()["events"]
    assert [e["type"] for e in events if not e["type"].startswith("dev.semtwin.model.")] == [
        *["dev.semtwin.sparql.update"] * 50, "dev.semtwin.graph.replaced"]


def test_validate_files_exit_codes_and_formats(tmp_path: Path) -> None:
    case = shared_data("shacl/w3c-test-suite/core/node/class-001.ttl")
    failing = semtwin("validate", str(case), "--shapes", str(case), "--format", "json",
                      check=False)
    assert failing.returncode == 1, failing.stderr
    report = json.loads(failing.stdout)
    assert report["conforms"] is False
    assert {r["focusNode"] for r in report["results"]} == {
        "http://datashapes.org/sh/tests/core/node/class-001.test#Quokki",
        "http://datashapes.org/sh/tests/core/node/class-001.test#Typeless"}
    turtle = semtwin("validate", str(case), "--shapes", str(case), "--format", "turtle",
                     check=False)
    assert turtle.returncode == 1 and "sh:ValidationReport" in turtle.stdout
    good = tmp_path / "good.ttl"
    good.write_text("<http://datashapes.org/sh/tests/core/node/class-001.test#John> "
                    "a <http://datashapes.org/sh/tests/core/node/class-001.test#Person> .")
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . "
        "<urn:S> a sh:NodeShape ; sh:targetClass "
        "<http://datashapes.org/sh/tests/core/node/class-001.test#Person> ; "
        "sh:property [ sh:path <urn:p> ; sh:maxCount 0 ] .")
    passing = semtwin("validate", str(good), "--shapes", str(shapes), check=False)
    assert passing.returncode == 0 and passing.stdout.startswith("Conforms")
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> . "
                      "<urn:S> sh:targetNode <urn:x> ; sh:minCount \"many\" .")
    error = semtwin("validate", str(good), "--shapes", str(broken), check=False)
    assert error.returncode == 2 and "minCount" in error.stderr
    malformed = tmp_path / "malformed.ttl"
    malformed.write_text("<a> <b> .")
    error = semtwin("validate", str(malformed), "--shapes", str(shapes), check=False)
    assert error.returncode == 2 and "line 1" in error.stderr


def test_validate_the_whole_store(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    data = tmp_path / "data.ttl"
    data.write_text("<urn:a> a <urn:Pump> ; <urn:power> 500 . <urn:b> a <urn:Pump> .")
    semtwin("load", str(data), "--store", store)
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> . <urn:S> a sh:NodeShape ; "
                      "sh:targetClass <urn:Pump> ; sh:property [ sh:path <urn:power> ; "
                      "sh:minCount 1 ; sh:maxInclusive 100 ] ; "
                      # SHACL-SPARQL on the store: a pump must not feed itself through others
                      "sh:sparql [ sh:select 'SELECT $this WHERE { $this <urn:feeds>+ $this }' "
                      "] .")
    loop = tmp_path / "loop.ttl"
    loop.write_text("<urn:b> <urn:feeds> <urn:c> . <urn:c> <urn:feeds> <urn:b> .")
    semtwin("load", str(loop), "--store", store, "--graph", "urn:g:loop")
    result = semtwin("validate", "--store", store, "--shapes", str(shapes), "--format", "json",
                     check=False)
    assert result.returncode == 1, result.stderr
    assert "not evaluated" not in result.stderr
    found = {(r["focusNode"], r["sourceConstraintComponent"].rsplit("#")[1])
             for r in json.loads(result.stdout)["results"]}
    assert found == {("urn:a", "MaxInclusiveConstraintComponent"),
                     ("urn:b", "MinCountConstraintComponent"),
                     ("urn:b", "SPARQLConstraintComponent")}


def test_replay_rebuilds_the_store_from_the_journal(start_server: type[ServerProcess],
                                                     tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    server = start_server(store=store, port=free_port()).start()
    url = server.url
    twins = f"{url}/api/v1/twins"
    assert httpx.put(f"{twins}/a", json={"$types": ["brick:VAV"],
                                         "properties": {"rdfs:label": "A", "https://ex.org/n": 1}}
                     ).status_code == 201
    assert httpx.post(f"{url}/api/v1/batch", json={"operations": [
        {"op": "put", "id": "b", "twin": {"properties": {"rdfs:label": "B"}}},
        {"op": "putRelationship", "id": "a", "relationshipId": "r",
         "relationship": {"$relationshipName": "brick:feeds", "$targetId": "b"}}]}
                      ).status_code == 200
    etag = httpx.get(f"{twins}/a").headers["etag"]
    patched = httpx.patch(f"{twins}/a", content=b'{"properties": {"https://ex.org/n": 2}}',
                          headers={"Content-Type": "application/merge-patch+json",
                                   "If-Match": etag})
    assert patched.status_code == 200
    assert httpx.put(f"{url}/graphs", params={"graph": "http://e/g"},
                     content="<http://e/s> <http://e/p> [ <http://e/q> 1 ] .",
                     headers={"Content-Type": "text/turtle"}).status_code == 201
    assert httpx.post(f"{url}/sparql", content="INSERT DATA { <http://e/x> <http://e/p> 3 } ; "
                      "DELETE WHERE { GRAPH <http://e/g> { <http://e/s> <http://e/p> ?o } }",
                      headers={"Content-Type": "application/sparql-update"}).status_code == 204
    assert httpx.put(f"{twins}/c", json={}).status_code == 201
    assert httpx.delete(f"{twins}/c").status_code == 204
    last = httpx.get(f"{url}/api/v1/events", params={"limit": 1000}).json()["last"]
    server.stop()
    rebuilt = str(tmp_path / "rebuilt")
    result = semtwin("replay", store, "--store", rebuilt)
    assert f"up to sequence {last}" in result.stderr

    def content(where: str) -> tuple[set[str], int]:
        dumped = semtwin("dump", "--store", where, "--format", "nquads").stdout
        lines = [line for line in dumped.splitlines() if line
                 and "<urn:semtwin:journal>" not in line
                 and "<https://semtwin.dev/ns#updated>" not in line]
        return ({line for line in lines if "_:" not in line},
                sum(1 for line in lines if "_:" in line))

    original, copy = content(store), content(rebuilt)
    assert copy == original  # blank nodes get new labels: compared by count
    copy = copy[0]
    assert any("https://ex.org/n" in line and '"2"' in line for line in copy)
    again = start_server(store=rebuilt, port=free_port()).start()
    events = httpx.get(f"{again.url}/api/v1/events", params={"limit": 1000}).json()
    assert events["last"] == last
    assert httpx.get(f"{again.url}/api/v1/twins/a").headers["etag"] == patched.headers["etag"]
    again.stop()
    refused = semtwin("replay", store, "--store", rebuilt, check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr
