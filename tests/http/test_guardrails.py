"""Timeouts that stop the work, runaway isolation, row and body caps."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.conftest import ServerProcess, free_port

CROSS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CROSS_FILTERED = (
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
    'FILTER(CONCAT(STR(?c), STR(?f)) = STR(?i)) }'
)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("guard")
    proc = ServerProcess(
        store=str(directory / "db"), port=free_port(),
        args=("--demo", "--query-timeout", "2", "--max-rows", "500", "--max-body-mb", "1"),
        log_path=directory / "server.log",
    )
    proc.start()
    yield proc
    proc.stop()


def _query(server: ServerProcess, query: str, timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{server.url}/sparql", content=query, timeout=timeout,
                      headers={"Content-Type": "application/sparql-query",
                               "Accept": "application/sparql-results+json"})


def _workers_idle(server: ServerProcess, within: float) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        pools = httpx.get(f"{server.url}/healthz").json()["workers"]
        if pools["query"]["running"] == 0 and pools["query"]["stuck"] == 0:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("query", [CROSS, CROSS_FILTERED], ids=["aggregate", "filtered"])
def test_timeout_answers_clearly_and_stops_the_work(demo_server: ServerProcess,
                                                    query: str) -> None:
    response = _query(demo_server, query)
    assert response.status_code == 503
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["title"] == "Query timeout"
    assert "2 s" in problem["detail"]
    # The engine really stopped: no worker is still busy with it a few seconds later
    # (unstopped, this query runs for hours).
    assert _workers_idle(demo_server, within=5)


def test_runaway_queries_do_not_stall_other_requests(demo_server: ServerProcess) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runaways = [pool.submit(_query, demo_server, CROSS) for _ in range(2)]
        time.sleep(0.3)
        answered = 0
        with httpx.Client(base_url=demo_server.url) as client:
            for _ in range(20):
                light = client.get("/sparql", params={
                    "query": "ASK { <https://semtwin.dev/demo/site> a ?t }"})
                graph = client.get("/graphs", params={"graph": "https://semtwin.dev/demo/site"})
                assert light.status_code == 200 and light.json()["boolean"] is True
                assert graph.status_code == 200 and "Demo campus" in graph.text
                answered += 1
        # every light request was answered while both runaways were still running
        assert not any(f.done() for f in runaways)
        assert answered == 20
        assert [f.result().status_code for f in runaways] == [503, 503]


def test_row_cap(demo_server: ServerProcess) -> None:
    response = _query(demo_server, "SELECT * WHERE { ?s ?p ?o }")
    assert response.status_code == 422
    assert "more than 500 rows" in response.json()["detail"]
    capped = _query(demo_server, "SELECT * WHERE { ?s ?p ?o } LIMIT 500")
    assert capped.status_code == 200
    assert len(capped.json()["results"]["bindings"]) == 500


def test_oversize_body_is_refused_and_server_keeps_serving(demo_server: ServerProcess) -> None:
    big = b"<http://e/s> <http://e/p> \"" + b"x" * (2 * 1024 * 1024) + b"\" .\n"
    response = httpx.put(f"{demo_server.url}/graphs", params={"graph": "http://e/big"},
                         content=big, headers={"Content-Type": "application/n-triples"})
    assert response.status_code == 413
    assert "limit of 1048576 bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"#" * 65536 + b"\n"

    streamed = httpx.post(f"{demo_server.url}/graphs", params={"graph": "http://e/big"},
                          content=chunks(), headers={"Content-Type": "text/turtle"})
    assert streamed.status_code == 413
    assert httpx.get(f"{demo_server.url}/graphs", params={"graph": "http://e/big"}
                     ).status_code == 404
    assert httpx.get(f"{demo_server.url}/healthz").status_code == 200
