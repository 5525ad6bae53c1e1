"""Bad input gets a clear 4xx that says where and why, and leaves the store as it was."""

from __future__ import annotations

import xml.dom.minidom

import httpx
import pytest
from tests.conftest import ServerProcess

GRAPH = "http://example.org/bad-input/g"
GOOD = '<http://example.org/s> <http://example.org/p> "kept" .\n'


@pytest.fixture
def seeded(server: ServerProcess) -> str:
    response = httpx.put(f"{server.url}/graphs", params={"graph": GRAPH}, content=GOOD,
                         headers={"Content-Type": "application/n-triples"})
    assert response.status_code in (201, 204)
    return GRAPH


def _graph_text(server: ServerProcess) -> str:
    response = httpx.get(f"{server.url}/graphs", params={"graph": GRAPH},
                         headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    return response.text


def test_malformed_query_gives_position(server: ServerProcess) -> None:
    response = httpx.get(f"{server.url}/sparql",
                         params={"query": "SELECT ?s WHERE {\n  ?s ?p \n}"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["line"] == 3
    if server.backend != "virtuoso":  # Virtuoso reports the line only
        assert problem["column"] >= 1
    assert "malformed SPARQL query" in problem["detail"]


def test_malformed_update_changes_nothing(server: ServerProcess, seeded: str) -> None:
    response = httpx.post(
        f"{server.url}/sparql",
        content=f"DROP GRAPH <{GRAPH}> ; INSERT DATA {{ <http://e/x> <http://e/p> }}",
        headers={"Content-Type": "application/sparql-update"},
    )
    assert response.status_code == 400
    assert "malformed SPARQL update" in response.json()["detail"]
    assert '"kept"' in _graph_text(server)


@pytest.mark.parametrize(
    ("content_type", "body", "line"),
    [
        ("text/turtle", '@prefix ex: <http://e/> .\nex:a ex:b "unterminated .\n', 2),
        ("application/n-triples", "<http://e/a> <http://e/b> <http://e/c> .\n<http://e/a> "
                                  "<http://e/b> .\n", 2),
        ("application/rdf+xml", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf='
                                '"http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
                                "<rdf:Description rdf:about='http://e/a'>\n</rdf:RDF>", None),
        ("application/ld+json", '{"@id": "http://e/a", "http://e/p": [1, }', None),
    ],
    ids=["turtle", "ntriples", "rdfxml", "jsonld"],
)
def test_malformed_rdf_upload_writes_nothing(server: ServerProcess, seeded: str,
                                             content_type: str, body: str,
                                             line: int | None) -> None:
    for method in ("PUT", "POST"):
        response = httpx.request(method, f"{server.url}/graphs", params={"graph": GRAPH},
                                 content=body, headers={"Content-Type": content_type})
        assert response.status_code == 400, response.text
        problem = response.json()
        assert "malformed" in problem["detail"]
        if line is not None:
            assert problem["line"] == line
            assert f"line {line}" in problem["detail"]
        assert _graph_text(server) == GOOD


def test_hostile_xml_entity_expansion_is_refused(server: ServerProcess, seeded: str) -> None:
    entities = '<!ENTITY lol0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{entities}]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:ex="http://e/"><rdf:Description rdf:about="http://e/a">'
        "<ex:p>&lol9;</ex:p></rdf:Description></rdf:RDF>"
    )
    response = httpx.put(f"{server.url}/graphs", params={"graph": GRAPH}, content=bomb,
                         headers={"Content-Type": "application/rdf+xml"}, timeout=30)
    assert response.status_code == 400
    assert "amplification" in response.json()["detail"]
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:ex="http://e/"><rdf:Description rdf:about="http://e/a">'
        "<ex:p>&x;</ex:p></rdf:Description></rdf:RDF>"
    )
    response = httpx.put(f"{server.url}/graphs", params={"graph": GRAPH}, content=xxe,
                         headers={"Content-Type": "application/rdf+xml"})
    assert response.status_code == 400
    assert "refused XML" in response.json()["detail"]
    # a DTD with ordinary entities, common in OWL files, is still accepted
    owl_style = (
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [<!ENTITY ex "http://e/">]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:ex="http://e/"><rdf:Description rdf:about="&ex;a">'
        "<ex:p>ok</ex:p></rdf:Description></rdf:RDF>"
    )
    response = httpx.post(f"{server.url}/graphs", params={"graph": GRAPH}, content=owl_style,
                          headers={"Content-Type": "application/rdf+xml"})
    assert response.status_code == 204
    assert '<http://e/a> <http://e/p> "ok"' in _graph_text(server)


def test_unsupported_content_type_is_415(server: ServerProcess, seeded: str) -> None:
    put = httpx.put(f"{server.url}/graphs", params={"graph": GRAPH}, content=b"\x89PNG",
                    headers={"Content-Type": "image/png"})
    assert put.status_code == 415
    assert "image/png" in put.json()["detail"]
    post = httpx.post(f"{server.url}/sparql", content="ASK {}",
                      headers={"Content-Type": "text/plain"})
    assert post.status_code == 415
    assert _graph_text(server) == GOOD


def test_unsatisfiable_accept_is_406(server: ServerProcess, seeded: str) -> None:
    query = httpx.get(f"{server.url}/sparql", params={"query": "SELECT * { ?s ?p ?o }"},
                      headers={"Accept": "image/png"})
    assert query.status_code == 406
    assert "Accept" in query.json()["detail"]
    construct = httpx.get(f"{server.url}/sparql",
                          params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                          headers={"Accept": "text/csv"})
    assert construct.status_code == 406
    graph = httpx.get(f"{server.url}/graphs", params={"graph": GRAPH},
                      headers={"Accept": "text/csv"})
    assert graph.status_code == 406


def test_bad_graph_parameters(server: ServerProcess) -> None:
    both = httpx.get(f"{server.url}/graphs?default&graph=http://e/g")
    assert both.status_code == 400
    relative = httpx.get(f"{server.url}/graphs", params={"graph": "not an iri"})
    assert relative.status_code == 400
    missing = httpx.delete(f"{server.url}/graphs", params={"graph": "http://e/never"})
    assert missing.status_code == 404


def test_invalid_utf8_and_wrong_method(server: ServerProcess) -> None:
    bad = httpx.post(f"{server.url}/sparql", content=b"ASK { \xff }",
                     headers={"Content-Type": "application/sparql-query"})
    assert bad.status_code == 400
    assert "UTF-8" in bad.json()["detail"]
    put = httpx.put(f"{server.url}/sparql", content=b"ASK {}")
    assert put.status_code == 405
    assert "GET" in put.headers["allow"]
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_triple_terms_work_or_are_refused_plainly(server: ServerProcess) -> None:
    """RDF 1.2 triple terms (RDF-star) where the store has them (detected at start); where it
    does not (Virtuoso 7), a 400 that says so, and nothing written."""
    graph = "http://example.org/bad-input/star"
    update = (f"INSERT DATA {{ GRAPH <{graph}> {{ <http://example.org/a> "
              "<http://example.org/says> <<( <http://example.org/s> <http://example.org/p> "
              "<http://example.org/o> )>> } }")
    query = (f"ASK {{ GRAPH <{graph}> {{ ?a <http://example.org/says> "
             "<<( <http://example.org/s> <http://example.org/p> <http://example.org/o> )>> "
             "} }")
    written = httpx.post(f"{server.url}/sparql", data={"update": update})
    answer = httpx.get(f"{server.url}/sparql", params={"query": query},
                       headers={"Accept": "application/sparql-results+json"})
    if server.backend == "virtuoso":
        assert written.status_code == 400 and answer.status_code == 400
        assert "triple terms" in written.json()["detail"]
        assert "triple terms" in answer.json()["detail"]
        count = httpx.get(f"{server.url}/sparql", params={
            "query": f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
            headers={"Accept": "application/sparql-results+json"})
        assert count.json()["boolean"] is False
    else:
        assert written.status_code in (200, 204), written.text
        assert answer.status_code == 200
        assert answer.json()["boolean"] is True


def test_deeply_nested_json_is_refused_and_the_server_lives(server: ServerProcess) -> None:
    """50,000 levels of JSON (300 KB): pyoxigraph's JSON-LD parser crashed the process on it,
    the standards importers answered 500. Every door now refuses it and writes nothing."""
    deep = ('{"http://ex.org/p":' * 50000 + "1" + "}" * 50000).encode()
    ld = {"Content-Type": "application/ld+json"}
    before = httpx.get(f"{server.url}/api/v1/events", params={"after": 0}).json()["last"]
    for method, path, params, status in (
            ("PUT", "/api/v1/twins/deep-json", {}, 400),
            ("PUT", "/graphs", {"graph": "urn:ex:deep"}, 400),
            ("POST", "/api/v1/models", {}, 400),
            ("POST", "/api/v1/validate", {}, 400),
            ("POST", "/api/v1/import/dtdl", {"name": "deep.json"}, 422),
            ("POST", "/api/v1/import/aas", {"name": "deep.json"}, 422)):
        answer = httpx.request(method, f"{server.url}{path}", params=params, content=deep,
                               headers=ld, timeout=60)
        assert answer.status_code == status, (path, answer.text[:300])
        assert "nested" in answer.json()["detail"], (path, answer.text[:300])
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/api/v1/events",
                     params={"after": 0}).json()["last"] == before


def test_deeply_nested_rdf_xml_is_refused_where_it_is(server: ServerProcess, seeded: str) -> None:
    """30,000 nested elements (720 KB) kept the RDF/XML parser busy for 8 s (its time grows
    with the square of the depth): refused at the element past the limit, graph unchanged."""
    levels = 30000
    body = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:e="http://example.org/"><rdf:Description rdf:about="http://example.org/s">'
            + "<e:p><rdf:Description>" * levels + "</rdf:Description></e:p>" * levels
            + "</rdf:Description></rdf:RDF>").encode()
    answer = httpx.put(f"{server.url}/graphs", params={"graph": GRAPH}, content=body,
                       headers={"Content-Type": "application/rdf+xml"}, timeout=60)
    assert answer.status_code == 400, answer.text[:300]
    assert "nested deeper than 1000" in answer.json()["detail"]
    assert answer.json()["line"] == 1
    assert _graph_text(server) == GOOD


def _journal_head(server: ServerProcess) -> int:
    head = 0
    while True:
        page = httpx.get(f"{server.url}/api/v1/events",
                         params={"after": head, "limit": 1000}).json()
        if not page["events"]:
            return head
        head = page["last"]


def test_characters_xml_cannot_carry_are_refused_at_every_door(server: ServerProcess,
                                                               seeded: str) -> None:
    """A NUL or another control character in a literal, once stored, made every RDF/XML
    export and every SPARQL XML result (SPARQLWrapper's default) malformed: refused at each
    door with where and which, nothing written; tab, line feed and carriage return are fine."""
    twin = f"{server.url}/api/v1/twins/ctl-twin"
    assert httpx.put(twin, json={"properties": {"rdfs:label": "tab\there\r\nok"}}
                     ).status_code == 201
    etag = httpx.get(twin).headers["etag"]
    head = _journal_head(server)
    nt = {"Content-Type": "application/n-triples"}
    attempts = [
        ("PUT", twin, {"json": {"properties": {"rdfs:label": "a\u0000b"}}}, "U+0000"),
        ("PATCH", twin, {"content": b'{"properties": {"rdfs:comment": "x\\u0001"}}',
                         "headers": {"Content-Type": "application/merge-patch+json",
                                     "If-Match": etag}}, "U+0001"),
        ("POST", f"{twin}/state", {"json": {"eventId": "ctl-1", "sourceTime":
                                            "2026-11-26T10:00:00Z",
                                            "properties": {"https://ex.org/v": "\u001f"}}},
         "U+001F"),
        ("POST", f"{server.url}/api/v1/batch", {"json": {"operations": [
            {"op": "put", "id": "ctl-batch", "twin": {"properties": {"rdfs:label": "\u000b"}}}]}},
         "U+000B"),
        ("POST", f"{server.url}/sparql", {"data": {"update": (
            f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <http://example.org/s> '
            f'<http://example.org/p> "bell \\u0007" }} }}')}}, "U+0007"),
        ("PUT", f"{server.url}/graphs", {"params": {"graph": GRAPH}, "headers": nt,
                                         "content": b'<http://example.org/s> '
                                         b'<http://example.org/p> "\\u0008" .\n'}, "U+0008"),
    ]
    for method, url, kwargs, code in attempts:
        answer = httpx.request(method, url, **kwargs)
        assert answer.status_code == 400, (method, url, answer.text[:300])
        assert answer.headers["content-type"] == "application/problem+json"
        assert code in answer.json()["detail"], answer.json()["detail"]
    assert _journal_head(server) == head
    assert _graph_text(server) == GOOD
    assert httpx.get(twin).headers["etag"] == etag
    assert httpx.get(f"{server.url}/api/v1/twins/ctl-batch").status_code == 404
    # what was stored still serializes as well-formed XML
    results = httpx.get(f"{server.url}/sparql", params={
        "query": "SELECT ?l WHERE { <urn:twin:ctl-twin> ?p ?l }"},
        headers={"Accept": "application/sparql-results+xml"})
    assert results.status_code == 200
    assert "tab\there" in xml.dom.minidom.parseString(results.content).toxml()


def test_an_agent_query_that_is_not_utf8_is_refused(server: ServerProcess) -> None:
    """The agent query tool read its body with replacement characters: a Latin-1 "café"
    became another literal and the query answered about something else."""
    answer = httpx.post(f"{server.url}/api/v1/ground/query",
                        content='ASK { ?s ?p "café" }'.encode("latin-1"))
    assert answer.status_code == 400
    assert "UTF-8" in answer.json()["detail"] and "byte 16" in answer.json()["detail"]
    good = httpx.post(f"{server.url}/api/v1/ground/query",
                      content='ASK { ?s ?p "café" }'.encode())
    assert good.status_code == 200


def _raw_request(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client would send these) and read the whole answer."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_requests_the_http_parser_refuses_are_problems(start_server: type[ServerProcess],
                                                       tmp_path: object) -> None:
    """A URL over 65,535 bytes (a long SPARQL query sent with GET) and a malformed header
    are refused before the app, as problem+json saying why (uvicorn's own answer is a
    plain-text "Invalid HTTP request received."); nothing is written, the server lives."""
    import json
    from urllib.parse import quote

    from tests.conftest import free_port

    server = start_server(store="memory", port=free_port()).start()

    def events() -> list[str]:
        feed = httpx.get(f"{server.url}/api/v1/events", params={"after": 0, "wait": 0})
        return [event["type"] for event in feed.json()["events"]]

    before = events()
    query = "SELECT * WHERE { ?s ?p ?o FILTER(?o != \"" + "x" * 70_000 + "\") } LIMIT 1"
    status, headers, body = _raw_request(
        server.port,
        f"GET /sparql?query={quote(query)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    problem = json.loads(body)
    assert status == 414, body
    assert headers["content-type"] == "application/problem+json"
    assert problem["status"] == 414 and "65535" in problem["detail"]
    assert "POST" in problem["detail"]
    # the way round it works
    posted = httpx.post(f"{server.url}/sparql", content=query,
                        headers={"Content-Type": "application/sparql-query",
                                 "Accept": "application/sparql-results+json"})
    assert posted.status_code == 200
    # a write with a URL too long writes nothing
    twin = "t" + "x" * 70_000
    status, _, _ = _raw_request(
        server.port, f"PUT /api/v1/twins/{twin} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".encode())
    assert status == 414
    status, headers, body = _raw_request(
        server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/problem+json"
    assert "header" in json.loads(body)["detail"].lower()
    assert events() == before
    assert httpx.get(f"{server.url}/healthz").status_code == 200
