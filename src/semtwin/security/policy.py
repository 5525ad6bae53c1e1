"""The one access policy: which role each door needs. Every request passes through it (the
HTTP middleware consults it before any route, fast paths included)."""

from __future__ import annotations

from semtwin.security import Role

PUBLIC = ("/healthz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")
_SPARQL_UPDATE = "application/sparql-update"


def required_role(method: str, path: str, content_type: str = "") -> Role | None:
    """None: open to anyone (health and API docs). A form-encoded SPARQL POST needs a
    reader here; the update handler then asks for a writer (the form is read there)."""
    if path in PUBLIC:
        return None
    method = method.upper()
    if path == "/mcp" or path.startswith("/mcp/"):
        return Role.READER  # the MCP tools only read
    if path.startswith(("/api/v1/audit", "/api/v1/keys", "/api/v1/admin")):
        return Role.ADMIN
    if method in ("GET", "HEAD", "OPTIONS"):
        return Role.READER
    if path == "/sparql":
        return Role.WRITER if content_type.startswith(_SPARQL_UPDATE) else Role.READER
    if path in ("/api/v1/validate", "/api/v1/ground/query", "/api/v1/ground/check"):
        return Role.READER  # validates or queries without writing
    if path.startswith(("/api/v1/models", "/api/v1/import")):
        return Role.MODELER
    return Role.WRITER
