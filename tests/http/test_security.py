"""Authentication and authorization through the real server: API keys per role, an
authorization matrix over every route of the OpenAPI document, SPARQL updates by role,
actors that cannot be spoofed, the audit trail, OIDC/JWT bearer tokens (expiry, audience,
issuer, signature, ``alg: none``, key rotation), revocation, rate limits, secure defaults."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.conftest import ServerProcess, free_port

ROLES = ("reader", "writer", "modeler", "admin")
RANK = {None: 0, "reader": 1, "writer": 2, "modeler": 3, "admin": 4}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "semtwin", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def _key(store: str, role: str) -> str:
    created = _cli("keys", "create", "--role", role, "--name", f"test {role}", "--store", store)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[ServerProcess, dict[str, str], str]]:
    directory = tmp_path_factory.mktemp("secured")
    store = str(directory / "db")
    keys = {role: _key(store, role) for role in ROLES}
    for role in ROLES:
        created = _cli("keys", "create", "--role", role, "--tenant", "other", "--store", store)
        keys[f"other-{role}"] = created.stdout.strip()
    server = ServerProcess(store=store, port=free_port(), log_path=directory / "server.log")
    server.start()
    yield server, keys, store
    server.stop()


def _plain(role: str | None) -> str | None:
    return role.removeprefix("other-") if role else None


def _headers(keys: dict[str, str], role: str | None) -> dict[str, str]:
    return {} if role is None else {"Authorization": f"Bearer {keys[role]}"}


def _head(server: ServerProcess, keys: dict[str, str]) -> int:
    return int(httpx.get(f"{server.url}/api/v1/events", params={"after": 0, "limit": 1},
                         headers=_headers(keys, "reader")).json()["last"])


def _expected_role(method: str, path: str) -> str | None:
    """What each door needs, written from the documented policy (docs/security.md)."""
    if path in ("/healthz", "/openapi.json", "/docs", "/redoc"):
        return None
    if path.startswith(("/api/v1/audit", "/api/v1/admin")):
        return "admin"
    if method in ("get", "head"):
        return "reader"
    if path in ("/sparql", "/api/v1/validate", "/api/v1/ground/query",
                "/api/v1/ground/check"):
        return "reader"
    if path.startswith(("/api/v1/models", "/api/v1/import")):
        return "modeler"
    return "writer"


def _routes(server: ServerProcess) -> list[tuple[str, str]]:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    out = []
    for path, operations in spec["paths"].items():
        concrete = path
        for name in ("twin_id", "rel_id", "fmt", "path"):
            concrete = concrete.replace("{" + name + "}", "dtdl" if name == "fmt" else
                                        f"matrix-{name}")
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete", "head"):
                out.append((method, concrete))
    assert len(out) > 30
    return out


def _sweep(server: ServerProcess, keys: dict[str, str], roles: tuple[str | None, ...]) -> int:
    checked = 0
    for method, path in _routes(server):
        if path.endswith("/stream"):
            continue  # server-sent events stay open
        needed = _expected_role(method, path)
        for role in roles:
            response = httpx.request(method.upper(), f"{server.url}{path}",
                                     headers=_headers(keys, role), timeout=30,
                                     content=b"" if method != "get" else None)
            status = response.status_code
            if RANK[_plain(role)] < RANK[needed]:
                assert status == (401 if role is None else 403), (method, path, role, status)
            else:
                assert status not in (401, 403), (method, path, role, status, response.text)
                assert status < 500, (method, path, role, status, response.text)
            checked += 1
    return checked


def test_authorization_matrix_over_every_route(
        secured: tuple[ServerProcess, dict[str, str], str]) -> None:
    """Every (route, method) x (no credential, each role of another tenant, each role of
    this tenant). The other tenant's requests, whatever their role, change nothing here and
    never reach this tenant's twin; denied requests change nothing."""
    server, keys, _ = secured
    twin = httpx.put(f"{server.url}/api/v1/twins/matrix-twin_id",
                     json={"$types": ["https://ex.org/Pump"]}, headers=_headers(keys, "writer"))
    assert twin.status_code in (200, 201)
    before = _head(server, keys)
    checked = _sweep(server, keys, (None, *(f"other-{r}" for r in ROLES)))
    assert _head(server, keys) == before
    assert httpx.get(f"{server.url}/api/v1/twins/matrix-twin_id",
                     headers=_headers(keys, "reader")).status_code == 200
    checked += _sweep(server, keys, ROLES)
    assert checked > 300


def test_sparql_update_needs_a_writer_and_the_actor_is_the_key(
        secured: tuple[ServerProcess, dict[str, str], str]) -> None:
    server, keys, _ = secured
    update = f"INSERT DATA {{ <urn:ex:{uuid.uuid4().hex}> <urn:ex:p> 1 }}"
    form = {"update": update}
    reader = httpx.post(f"{server.url}/sparql", data=form, headers=_headers(keys, "reader"))
    assert reader.status_code == 403
    direct = httpx.post(f"{server.url}/sparql", content=update,
                        headers={**_headers(keys, "reader"),
                                 "Content-Type": "application/sparql-update"})
    assert direct.status_code == 403
    writer = httpx.post(f"{server.url}/sparql", data=form,
                        headers={**_headers(keys, "writer"), "X-Actor": "mallory"})
    assert writer.status_code == 204, writer.text
    audit = httpx.get(f"{server.url}/api/v1/audit", params={"after": 0, "limit": 1000},
                      headers=_headers(keys, "admin")).json()
    last = audit["entries"][-1]
    assert last["door"] == "SPARQL Update" and last["tenant"] is None
    assert last["actor"].startswith("key:") and last["actor"] != "mallory"
    assert httpx.get(f"{server.url}/api/v1/audit",
                     headers=_headers(keys, "writer")).status_code == 403


def test_twin_writes_record_the_key_and_x_api_key_works(
        secured: tuple[ServerProcess, dict[str, str], str]) -> None:
    server, keys, _ = secured
    twin = f"sec-{uuid.uuid4().hex[:8]}"
    created = httpx.put(f"{server.url}/api/v1/twins/{twin}",
                        json={"$types": ["https://ex.org/Pump"]},
                        headers={"X-API-Key": keys["writer"]})
    assert created.status_code == 201
    entries = httpx.get(f"{server.url}/api/v1/audit", params={"limit": 1000},
                        headers=_headers(keys, "admin")).json()["entries"]
    mine = [e for e in entries if e["subject"].endswith(twin)]
    assert mine and mine[0]["door"] == "twin API" and mine[0]["actor"].startswith("key:")


def test_revoked_and_malformed_keys_are_refused(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    kept, dropped = _key(store, "reader"), _key(store, "reader")
    dropped_id = dropped.split("_")[1]
    assert _cli("keys", "revoke", dropped_id, "--store", store).returncode == 0
    listing = json.loads(_cli("keys", "list", "--store", store).stdout)
    assert {k["id"]: k["revoked"] for k in listing}[dropped_id] is True
    assert all("keyHash" not in k and kept not in json.dumps(k) for k in listing)
    server = ServerProcess(store=store, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        url = f"{server.url}/api/v1/twins"
        assert httpx.get(url, headers={"X-API-Key": kept}).status_code == 200
        for bad in (dropped, "stk_nope_nope", "not-a-key", kept + "x"):
            response = httpx.get(url, headers={"X-API-Key": bad})
            assert response.status_code == 401, bad
            assert response.headers["www-authenticate"].startswith("Bearer")
        # the hashes are not readable through SPARQL either
        ask = httpx.get(f"{server.url}/sparql", headers={"X-API-Key": kept}, params={
            "query": "ASK { GRAPH <urn:semtwin:keys> { ?k ?p ?o } }"},
            ).json()
        assert ask["boolean"] is False
    finally:
        server.stop()


def _rsa() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private: Any, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return {**public, "kid": kid, "alg": "RS256", "use": "sig"}


def _token(private: Any, kid: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "https://idp.example", "aud": "semtwin", "sub": "alice",
            "iat": now, "exp": now + 300, "roles": ["writer"], **claims}
    return jwt.encode(body, private, algorithm="RS256", headers={"kid": kid})


def test_jwt_bearer_tokens(tmp_path: Path) -> None:
    first, second, stranger = _rsa(), _rsa(), _rsa()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [_jwk(first, "k1")]}))
    server = ServerProcess(store=str(tmp_path / "db"), port=free_port(),
                           log_path=tmp_path / "server.log",
                           env={"SEMTWIN_JWT_ISSUER": "https://idp.example",
                                "SEMTWIN_JWT_AUDIENCE": "semtwin",
                                "SEMTWIN_JWT_JWKS": str(jwks)}).start()
    try:
        url = f"{server.url}/api/v1/twins/jwt-twin"
        body = {"$types": ["https://ex.org/Pump"]}

        def put(token: str) -> httpx.Response:
            return httpx.put(url, json=body, headers={"Authorization": f"Bearer {token}"})

        assert httpx.put(url, json=body).status_code == 401
        assert put(_token(first, "k1")).status_code in (200, 201)
        assert put(_token(first, "k1", roles=["reader"])).status_code == 403
        assert put(_token(first, "k1", roles=["nothing"])).status_code == 401
        assert put(_token(first, "k1", exp=int(time.time()) - 3600)).status_code == 401
        assert put(_token(first, "k1", aud="someone-else")).status_code == 401
        assert put(_token(first, "k1", iss="https://evil.example")).status_code == 401
        assert put(_token(stranger, "k1")).status_code == 401          # bad signature
        unsigned = (base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
                    + b"." + base64.urlsafe_b64encode(json.dumps(
                        {"iss": "https://idp.example", "aud": "semtwin", "sub": "x",
                         "exp": int(time.time()) + 60, "roles": ["admin"]}).encode()
                    ).rstrip(b"=") + b".").decode()
        assert put(unsigned).status_code == 401                        # alg: none
        # key rotation: the issuer adds k2; tokens signed with it work without a restart
        assert put(_token(second, "k2")).status_code == 401
        jwks.write_text(json.dumps({"keys": [_jwk(first, "k1"), _jwk(second, "k2")]}))
        assert put(_token(second, "k2")).status_code in (200, 201)
        jwks.write_text(json.dumps({"keys": [_jwk(second, "k2")]}))    # k1 retired
        assert put(_token(first, "k1")).status_code == 401
    finally:
        server.stop()


def test_jwks_from_the_issuers_url(tmp_path: Path) -> None:
    """The issuer publishes its keys over HTTP (here on loopback); PyJWT's client fetches
    and caches them."""
    import http.server
    import threading

    key = _rsa()
    document = json.dumps({"keys": [_jwk(key, "url-key")]}).encode()

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    issuer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=issuer.serve_forever, daemon=True).start()
    server = ServerProcess(store=str(tmp_path / "db"), port=free_port(),
                           log_path=tmp_path / "server.log",
                           env={"SEMTWIN_JWT_ISSUER": "https://idp.example",
                                "SEMTWIN_JWT_JWKS": f"http://127.0.0.1:"
                                                    f"{issuer.server_address[1]}/jwks"}).start()
    try:
        good = httpx.get(f"{server.url}/api/v1/twins", headers={
            "Authorization": f"Bearer {_token(key, 'url-key', roles='reader')}"})
        assert good.status_code == 200
        bad = httpx.get(f"{server.url}/api/v1/twins", headers={
            "Authorization": f"Bearer {_token(_rsa(), 'url-key', roles='reader')}"})
        assert bad.status_code == 401
    finally:
        server.stop()
        issuer.shutdown()
        issuer.server_close()


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    key = _key(store, "reader")
    server = ServerProcess(store=store, port=free_port(), log_path=tmp_path / "server.log",
                           env={"SEMTWIN_RATE_LIMIT": "2"}).start()
    try:
        statuses = []
        limited = None
        for _ in range(25):
            response = httpx.get(f"{server.url}/api/v1/twins",
                                 headers={"Authorization": f"Bearer {key}"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                limited = response
        assert 200 in statuses and limited is not None
        assert int(limited.headers["retry-after"]) >= 1
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()


def test_serve_refuses_an_open_server_beyond_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "semtwin", "serve", "--store", str(tmp_path / "db"),
         "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "no authentication is configured" in result.stderr


def test_open_mode_on_loopback_says_so(tmp_path: Path) -> None:
    server = ServerProcess(store=str(tmp_path / "db"), port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        assert httpx.put(f"{server.url}/api/v1/twins/open",
                         json={"$types": ["https://ex.org/Pump"]}).status_code == 201
    finally:
        server.stop()
    assert server.log_path is not None
    assert "open access on loopback" in server.log_path.read_text()


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://169.254.169.254/latest> { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    "PREFIX x: <http://127.0.0.1:9/> SELECT * WHERE { SERVICE x:sparql { ?s ?p ?o } }",
])
def test_service_is_refused_unless_allowed(tmp_path: Path, query: str) -> None:
    server = ServerProcess(store=str(tmp_path / "db"), port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        response = httpx.get(f"{server.url}/sparql", params={"query": query})
        assert response.status_code == 403, response.text
        assert "SERVICE" in response.json()["detail"]
        posted = httpx.post(f"{server.url}/sparql", data={"query": query})
        assert posted.status_code == 403
    finally:
        server.stop()


def _sparql(server: ServerProcess, key: str, query: str, **params: str) -> Any:
    response = httpx.get(f"{server.url}/sparql", params={"query": query, **params},
                         headers={"X-API-Key": key,
                                  "Accept": "application/sparql-results+json, text/turtle"})
    assert response.status_code == 200, response.text
    return response


def test_tenants_are_isolated_through_every_door(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    acme = {r: _cli("keys", "create", "--role", r, "--tenant", "acme", "--store",
                    store).stdout.strip() for r in ("writer", "reader")}
    globex = {r: _cli("keys", "create", "--role", r, "--tenant", "globex", "--store",
                      store).stdout.strip() for r in ("writer", "reader")}
    default_reader = _key(store, "reader")
    server = ServerProcess(store=store, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        put = httpx.put(f"{server.url}/api/v1/twins/secret-acme",
                        json={"$types": ["https://ex.org/Pump"],
                              "properties": {"https://ex.org/code": "ACME-42"}},
                        headers={"X-API-Key": acme["writer"]})
        assert put.status_code == 201
        update = httpx.post(f"{server.url}/sparql", headers={
            "X-API-Key": acme["writer"], "Content-Type": "application/sparql-update"},
            content="INSERT DATA { GRAPH <urn:acme:g> { <urn:acme:x> <urn:acme:p> 1 } }")
        assert update.status_code == 204
        assert httpx.get(f"{server.url}/api/v1/twins/secret-acme",
                         headers={"X-API-Key": acme["reader"]}).status_code == 200
        for key in (globex["reader"], default_reader):
            assert httpx.get(f"{server.url}/api/v1/twins/secret-acme",
                             headers={"X-API-Key": key}).status_code == 404
            for query, params in (
                    ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", {}),
                    ("SELECT * FROM <urn:acme:g> WHERE { ?s ?p ?o }", {}),
                    ("SELECT * FROM NAMED <urn:acme:g> WHERE { GRAPH ?g { ?s ?p ?o } }", {}),
                    ("SELECT * WHERE { ?s ?p ?o }", {"default-graph-uri": "urn:acme:g"}),
                    ("SELECT * WHERE { <urn:twin:secret-acme> (<urn:x>|!<urn:x>)* ?o }", {}),
                    ("SELECT * WHERE { ?s ?p \"ACME-42\" }", {})):
                body = _sparql(server, key, query, **params).json()
                values = json.dumps(body["results"]["bindings"])
                assert "acme" not in values.lower(), (query, values)
            described = _sparql(server, key, "DESCRIBE <urn:twin:secret-acme>").text
            assert "ACME-42" not in described
        # another tenant's update cannot reach acme's data
        wipe = httpx.post(f"{server.url}/sparql", headers={
            "X-API-Key": globex["writer"], "Content-Type": "application/sparql-update"},
            content="DELETE WHERE { GRAPH <urn:acme:g> { ?s ?p ?o } }")
        assert wipe.status_code == 204
        still = _sparql(server, acme["reader"],
                        "ASK { GRAPH <urn:acme:g> { <urn:acme:x> ?p ?o } }").json()
        assert still["boolean"] is True
        # and each tenant has its own change feed
        feed = httpx.get(f"{server.url}/api/v1/events", params={"after": 0, "limit": 1000},
                         headers={"X-API-Key": globex["reader"]}).json()
        assert "secret-acme" not in json.dumps(feed)
    finally:
        server.stop()


def test_schemathesis_finds_no_server_error(tmp_path: Path) -> None:
    """Property-based requests generated from the OpenAPI document (examples, coverage and
    fuzzing phases, a bounded number per operation, a fixed seed) against the real server
    with an admin key: no 5xx anywhere."""
    store = str(tmp_path / "db")
    key = _key(store, "admin")
    server = ServerProcess(store=store, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "run",
             f"{server.url}/openapi.json", "-H", f"Authorization: Bearer {key}",
             "--max-examples", "3", "--checks", "not_a_server_error",
             "--phases", "examples,coverage,fuzzing", "--request-timeout", "40",
             "--exclude-path-regex", "stream", "--seed", "20261126", "--no-color"],
            capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.http.schemathesis_hooks",
                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        assert result.returncode == 0, result.stdout[-3000:]
    finally:
        server.stop()
    assert server.log_path is not None
    assert '"unhandled error"' not in server.log_path.read_text()


def test_backups_go_under_the_backup_directory_by_name(tmp_path: Path) -> None:
    """A client names a backup; the server picks the place (``{store}.backups``): no path a
    client sends reaches the file system."""
    from semtwin.store.embedded import EmbeddedStore

    store = str(tmp_path / "db")
    key = _key(store, "admin")
    server = ServerProcess(store=store, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    admin = {"Authorization": f"Bearer {key}"}
    try:
        assert httpx.put(f"{server.url}/api/v1/twins/kept", headers=admin, json={
            "$types": ["https://ex.org/Pump"]}).status_code == 201
        made = httpx.post(f"{server.url}/api/v1/admin/backup", params={"name": "nightly"},
                          headers=admin)
        assert made.status_code == 201, made.text
        assert made.json()["backup"] == str(tmp_path / "db.backups" / "nightly")
        again = httpx.post(f"{server.url}/api/v1/admin/backup", params={"name": "nightly"},
                           headers=admin)
        assert again.status_code == 409
        for hostile in ("../escaped", "/tmp/escaped", ".hidden", "a/b"):
            refused = httpx.post(f"{server.url}/api/v1/admin/backup",
                                 params={"name": hostile}, headers=admin)
            assert refused.status_code == 400, hostile
        assert not (tmp_path / "escaped").exists()
    finally:
        server.stop()
    backup = EmbeddedStore(tmp_path / "db.backups" / "nightly")
    try:
        assert any(True for _ in backup.quads(None, None, None, None))
        assert any(q.subject.value == "urn:twin:kept"  # type: ignore[union-attr]
                   for q in backup.quads(None, None, None, None))
    finally:
        backup.close()


def test_graph_store_writes_are_attributed(
        secured: tuple[ServerProcess, dict[str, str], str]) -> None:
    server, keys, _ = secured
    graph = f"urn:ex:g-{uuid.uuid4().hex[:8]}"
    put = httpx.put(f"{server.url}/graphs", params={"graph": graph},
                    content=b"<urn:ex:a> <urn:ex:b> <urn:ex:c> .",
                    headers={**_headers(keys, "writer"), "Content-Type": "application/n-triples",
                             "X-Actor": "mallory"})
    assert put.status_code == 201
    entries = httpx.get(f"{server.url}/api/v1/audit", params={"limit": 1000},
                        headers=_headers(keys, "admin")).json()["entries"]
    mine = [e for e in entries if e["subject"] == graph]
    assert mine[-1]["door"] == "Graph Store" and mine[-1]["actor"].startswith("key:")


def test_query_limits_per_role(tmp_path: Path) -> None:
    store = str(tmp_path / "db")
    reader, writer = _key(store, "reader"), _key(store, "writer")
    server = ServerProcess(store=store, port=free_port(), log_path=tmp_path / "server.log",
                           env={"SEMTWIN_ROLE_LIMITS": "reader=5:3"}).start()
    try:
        triples = "".join(f"<urn:ex:s{i}> <urn:ex:p> {i} .\n" for i in range(10))
        assert httpx.post(f"{server.url}/graphs", params={"graph": "urn:ex:g"},
                          content=triples.encode(),
                          headers={"X-API-Key": writer, "Content-Type": "text/turtle"}
                          ).status_code in (200, 201, 204)
        query = {"query": "SELECT ?s WHERE { ?s <urn:ex:p> ?o }"}
        accept = {"Accept": "application/sparql-results+json"}
        for _ in range(3):  # the second and third would take the fast path if it ignored roles
            capped = httpx.get(f"{server.url}/sparql", params=query,
                               headers={"X-API-Key": reader, **accept})
            assert capped.status_code == 422, capped.text
        full = httpx.get(f"{server.url}/sparql", params=query,
                         headers={"X-API-Key": writer, **accept})
        assert full.status_code == 200
        assert len(full.json()["results"]["bindings"]) == 10
    finally:
        server.stop()


def test_grounding_routes_need_a_reader_and_answer(
        secured: tuple[ServerProcess, dict[str, str], str]) -> None:
    server, keys, _ = secured
    put = httpx.put(f"{server.url}/api/v1/twins/ground-pump", headers=_headers(keys, "writer"),
                    json={"$types": ["https://ex.org/Pump"], "properties": {
                        "http://www.w3.org/2000/01/rdf-schema#label": "Booster Pump Seven"}})
    assert put.status_code == 201
    assert httpx.get(f"{server.url}/api/v1/ground/resolve",
                     params={"text": "booster pump seven"}).status_code == 401
    found = httpx.get(f"{server.url}/api/v1/ground/resolve", headers=_headers(keys, "reader"),
                      params={"text": "which booster pump seven is running"}).json()
    assert found["matches"][0]["iri"] == "urn:twin:ground-pump"
    assert found["mentions"][0]["iris"] == ["urn:twin:ground-pump"]
    described = httpx.get(f"{server.url}/api/v1/ground/describe",
                          headers=_headers(keys, "reader"),
                          params={"iri": "urn:twin:ground-pump", "format": "text"}).json()
    assert "Booster Pump Seven" in described["text"]
    key = described["text"].splitlines()[0].rsplit("[", 1)[1].rstrip("]")
    cited = httpx.get(f"{server.url}/api/v1/ground/cite", headers=_headers(keys, "reader"),
                      params={"key": key}).json()
    assert cited["holds"] is True and cited["fact"]["graph"] == "urn:twin:ground-pump"


def test_cors_with_keys_preflights_fast_paths_and_refusals(tmp_path: Path) -> None:
    """A browser query editor on another origin, with an API key: its preflight (which
    carries no credential) is answered, and every answer carries the CORS headers, whether
    a fast path gave it (a query repeated until proven fast, a twin by id) or the access
    check refused it; an origin not allowed gets none."""
    store = str(tmp_path / "db")
    reader, writer = _key(store, "reader"), _key(store, "writer")
    origin = "https://yasgui.example"
    server = ServerProcess(store=store, port=free_port(), args=("--cors", origin),
                           log_path=tmp_path / "server.log").start()
    try:
        preflight = httpx.options(f"{server.url}/sparql", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()

        query = {"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"}
        for _ in range(8):  # the later ones are answered on the fast path
            answer = httpx.get(f"{server.url}/sparql", params=query, headers={
                "Origin": origin, "Authorization": f"Bearer {reader}",
                "Accept": "application/sparql-results+json"})
            assert answer.status_code == 200
            assert answer.headers["access-control-allow-origin"] == origin
            assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()

        put = httpx.put(f"{server.url}/api/v1/twins/cors-1", json={"properties": {}},
                        headers={"Authorization": f"Bearer {writer}", "Origin": origin})
        assert put.status_code in (200, 201), put.text
        assert put.headers["access-control-allow-origin"] == origin
        twin = httpx.get(f"{server.url}/api/v1/twins/cors-1",
                         headers={"Authorization": f"Bearer {reader}", "Origin": origin})
        assert twin.status_code == 200 and twin.headers["etag"]
        assert twin.headers["access-control-allow-origin"] == origin
        assert "etag" in twin.headers["access-control-expose-headers"].lower()

        refused = httpx.get(f"{server.url}/sparql", params=query, headers={"Origin": origin})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == origin

        stranger = httpx.get(f"{server.url}/sparql", params=query, headers={
            "Origin": "https://elsewhere.example", "Authorization": f"Bearer {reader}"})
        assert stranger.status_code == 200
        assert "access-control-allow-origin" not in stranger.headers
    finally:
        server.stop()
