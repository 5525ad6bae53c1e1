"""A real MCP client session (the ``mcp`` package's client) with ``semtwin mcp`` over stdio:
it lists the tools and calls every one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from tests.test_cli import semtwin

TOOLS = {"resolve", "describe", "query", "check", "cite", "schema"}


def _pump_store(tmp_path: Path) -> str:
    """A store holding one labelled pump, loaded with the CLI."""
    store = str(tmp_path / "db")
    data = tmp_path / "pump.ttl"
    data.write_text('<urn:ex:pump9> a <https://ex.org/Pump> ; '
                    '<http://www.w3.org/2000/01/rdf-schema#label> "Booster Pump Nine" .')
    semtwin("load", str(data), "--store", store, "--graph", "urn:ex:plant")
    return store


def _text(result: object) -> dict[str, object]:
    content = getattr(result, "content", [])
    return json.loads(content[0].text)  # type: ignore[no-any-return]


async def _session(store: str) -> dict[str, object]:
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "semtwin", "mcp", "--store", store])
    out: dict[str, object] = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        out["tools"] = {t.name for t in tools.tools}
        found = _text(await session.call_tool("resolve", {"text": "booster pump nine"}))
        out["resolve"] = found
        iri = found["matches"][0]["iri"]  # type: ignore[index]
        described = _text(await session.call_tool("describe", {"iri": iri, "format": "json"}))
        out["describe"] = described
        key = described["facts"][0]["cite"]  # type: ignore[index]
        out["cite"] = _text(await session.call_tool("cite", {"key": key}))
        out["query"] = _text(await session.call_tool(
            "query", {"sparql": f"ASK {{ <{iri}> ?p ?o }}"}))
        out["check"] = _text(await session.call_tool("check", {"claims": [
            {"s": iri, "p": "http://www.w3.org/2000/01/rdf-schema#label",
             "o": "Booster Pump Nine"}]}))
        out["schema"] = _text(await session.call_tool("schema", {"question": "pump"}))
        refused = await session.call_tool("query", {"sparql": "DELETE WHERE { ?s ?p ?o }"})
        out["refused"] = _text(refused)
        out["refused_is_error"] = refused.is_error
        missing = await session.call_tool("describe", {"iri": "urn:ex:nothing"})
        out["missing"], out["missing_is_error"] = _text(missing), missing.is_error
    return out


def test_mcp_client_lists_and_calls_every_tool(tmp_path: Path) -> None:
    store = _pump_store(tmp_path)
    out = anyio.run(_session, store)
    assert out["tools"] == TOOLS
    assert out["resolve"]["matches"][0]["iri"] == "urn:ex:pump9"  # type: ignore[index]
    assert out["describe"]["facts"]  # type: ignore[index]
    assert out["cite"]["holds"] is True  # type: ignore[index]
    assert '"boolean": true' in out["query"]["result"] or \
        '"boolean":true' in out["query"]["result"]  # type: ignore[operator]
    assert out["check"]["results"][0]["verdict"] == "supported"  # type: ignore[index]
    assert "updates are not available" in out["refused"]["detail"]  # type: ignore[operator]
    assert out["refused"]["error"] == "Invalid input" and out["refused"]["hints"]  # type: ignore[index]
    # a refusal is a tool error (isError), its text the same JSON; an answer is not
    assert out["refused_is_error"] is True
    assert out["missing_is_error"] is True and out["missing"]["error"] == "Not found"  # type: ignore[index]
    schema = out["schema"]["classes"]  # type: ignore[index]
    assert schema[0]["iri"] == "https://ex.org/Pump" and schema[0]["instances"] == 1


async def _http_session(url: str, key: str) -> dict[str, object]:
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

    out: dict[str, object] = {}
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with client, streamable_http_client(f"{url}/mcp/", http_client=client) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await session.initialize()
            out["tools"] = {t.name for t in (await session.list_tools()).tools}
            out["resolve"] = _text(await session.call_tool("resolve",
                                                           {"text": "booster pump nine"}))
    return out


def test_mcp_over_http_behind_authentication(tmp_path: Path) -> None:
    import httpx
    from tests.conftest import ServerProcess, free_port

    store = _pump_store(tmp_path)
    key = semtwin("keys", "create", "--role", "reader", "--store", store).stdout.strip()
    tenant_key = semtwin("keys", "create", "--role", "writer", "--tenant", "acme",
                         "--store", store).stdout.strip()
    server = ServerProcess(store=store, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        assert httpx.post(f"{server.url}/mcp/", json={}).status_code == 401
        out = anyio.run(_http_session, server.url, key)
        assert out["tools"] == TOOLS
        assert out["resolve"]["matches"][0]["iri"] == "urn:ex:pump9"  # type: ignore[index]
        # A tenant's agent sees its own tenant's graph only, through the same endpoint.
        put = httpx.put(f"{server.url}/api/v1/twins/pump7", headers={
            "Authorization": f"Bearer {tenant_key}"}, json={
            "$types": ["https://ex.org/Pump"],
            "properties": {"rdfs:label": "Booster pump nine"}})
        assert put.status_code == 201, put.text
        acme = anyio.run(_http_session, server.url, tenant_key)
        assert [m["iri"] for m in acme["resolve"]["matches"]] == [  # type: ignore[index]
            "urn:twin:pump7"]
    finally:
        server.stop()
