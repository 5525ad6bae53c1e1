"""``semtwin mcp``: the grounding tools as a Model Context Protocol server over stdio
(the ``mcp`` package). A local front end like the CLI: whoever runs it reads the store
directly. Over HTTP (``/mcp/`` of the server) the tools sit behind the access middleware
and answer from the caller's tenant."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent

from semtwin.errors import SemtwinError
from semtwin.runtime import Semtwin


def build_server(runtime: Semtwin) -> Any:

    server = MCPServer(name="semtwin", instructions=(
        "Grounded context from a digital-twin knowledge graph: resolve names to entities, "
        "describe an entity with cited facts within a token budget, run read-only SPARQL, "
        "check claims against the graph and its SHACL shapes, and resolve citations."))

    def _of(ctx: Context) -> Semtwin:
        """Over HTTP, the runtime the access middleware chose for the caller's tenant."""
        try:
            request = ctx.request_context.request
        except ValueError:  # stdio: no request
            return runtime
        state = getattr(request, "scope", {}).get("state") or {}
        chosen = state.get("runtime")
        return chosen if isinstance(chosen, Semtwin) else runtime

    def _call(fn: Any) -> CallToolResult:
        """The tool's answer as JSON text; a refusal is a tool error (``isError: true``, as
        the protocol asks, so the model knows the call failed) whose text is JSON too:
        ``error``, ``detail`` and, for queries, repair ``hints``."""
        try:
            answer, failed = fn(), False
        except SemtwinError as err:
            answer = {"error": err.title, "detail": err.detail,
                      **{k: v for k, v in err.extra.items() if k == "hints"}}
            failed = True
        return CallToolResult(content=[TextContent(
            type="text", text=json.dumps(answer, ensure_ascii=False))], is_error=failed)

    @server.tool(description="Free text to ranked entities (IRI, label, types, score, why) "
                 "and the spans of the text that name them. mode: auto, lexical, semantic "
                 "or hybrid (the last two when the server has embeddings enabled).")
    def resolve(ctx: Context, text: str, k: int = 10, mode: str = "auto") -> CallToolResult:
        return _call(lambda: _of(ctx).grounding.resolve(text, k, mode))

    @server.tool(description="An entity's facts, most relevant first, within a token "
                 "budget; each fact has a citation key. format: json, text or turtle.")
    def describe(ctx: Context, iri: str, budget: int = 500,
                 format: str = "text") -> CallToolResult:
        return _call(lambda: _of(ctx).grounding.describe(iri, budget, format))

    @server.tool(description="Read-only SPARQL (SELECT, ASK, CONSTRUCT, DESCRIBE) with row "
                 "and token caps; failing or empty queries come back with repair hints.")
    def query(ctx: Context, sparql: str, max_rows: int = 100,
              max_tokens: int = 2000) -> CallToolResult:
        return _call(lambda: _of(ctx).agent_query.run(sparql, max_rows, max_tokens))

    @server.tool(description='Check claims [{"s": IRI, "p": IRI, "o": value or {"@id": '
                 'IRI}}]: supported, contradicted (graph or shapes) or unknown, with facts.')
    def check(ctx: Context, claims: list[dict[str, Any]]) -> CallToolResult:
        return _call(lambda: _of(ctx).claims.check(claims))

    @server.tool(description="The classes relevant to a question (or the given class IRIs):"
                 " hierarchy, instance counts, properties used, shape constraints, example "
                 "queries, within a token budget.")
    def schema(ctx: Context, question: str = "", classes: list[str] | None = None,
               budget: int = 800) -> CallToolResult:
        return _call(lambda: _of(ctx).schema.summary(classes, question or None, budget))

    @server.tool(description="A citation key back to its fact: does it still hold, in "
                 "which graph and version.")
    def cite(ctx: Context, key: str) -> CallToolResult:
        return _call(lambda: _of(ctx).grounding.cite(key))

    return server
