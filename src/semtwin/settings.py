"""Typed settings for one semtwin runtime, from arguments and ``SEMTWIN_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


def default_store_dir() -> Path:
    """``$XDG_DATA_HOME/semtwin/store`` (``~/.local/share/semtwin/store``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "semtwin" / "store"


@dataclass(frozen=True)
class Settings:
    """Everything a runtime needs to know; no module-level defaults are mutated."""

    store: str = field(default_factory=lambda: str(default_store_dir()))
    """A directory for the embedded store, ``memory`` for an in-memory store, or a remote
    SPARQL store: ``oxigraph+http://host:port``, ``virtuoso+http://host:port``,
    ``sparql+http(s)://host/path``."""
    remote_auth: str | None = None
    """Authorization header value for the remote store (or user:pass@ in its URL)."""
    remote_timeout: float = 30.0
    remote_retries: int = 3
    remote_union_default_graph: str = "auto"
    remote_gsp_url: str | None = None
    twin_base: str = "urn:twin:"
    """Twins created through the API get the IRI ``{twin_base}{id}``."""
    host: str = "127.0.0.1"
    port: int = 8000
    base_iri: str = "http://localhost:8000/"
    query_timeout: float = 30.0
    max_result_rows: int = 100_000
    max_body_bytes: int = 64 * 1024 * 1024
    query_workers: int = 4
    lookup_workers: int = 8
    inline_writes: bool = True
    """Run small twin writes on the event loop when nothing would make them wait (embedded
    store): more writes a second, a longer worst-case stall under concurrent imports."""
    compact_after_updates: int = 1000
    """Compact the embedded store in the background once one resource (a twin a device
    updates) has been written this many times since the last compaction; 0: never."""
    union_default_graph: bool = True
    cors_origins: tuple[str, ...] = ()
    log_json: bool = True
    jwt_issuer: str | None = None
    """OIDC issuer whose bearer tokens are accepted (with ``jwt_jwks``)."""
    jwt_audience: str | None = None
    """Audience the tokens must name (default ``semtwin``)."""
    jwt_jwks: str | None = None
    """The issuer's signing keys: a JWKS file path or URL."""
    backup_dir: str | None = None
    """Where ``POST /api/v1/admin/backup`` writes (default ``{store}.backups``): a client
    names a backup, never a path on the server."""
    keys_file: str | None = None
    """API keys file (default: beside an embedded store, ``{store}.keys.json``; for a remote
    store, ``keys.json`` in the data directory)."""
    role_limits: tuple[str, ...] = ()
    """Tighter query limits per role: ``reader=10:10000`` (timeout seconds : row cap)."""
    service_allow: tuple[str, ...] = ()
    """SPARQL ``SERVICE`` endpoints (IRI prefixes) queries may call; none by default."""
    rate_limit: float = 0.0
    """Requests per second per principal (bursts of twice that, at least 10); 0: no limit."""
    write_lock: str | None = None
    """A lock file shared by every API process writing one remote store whose updates are
    not serializable (Oxigraph server, Virtuoso): each commit holds it (``flock``)."""
    grounding_embeddings: bool = False
    """Rank ``/ground/resolve`` with word embeddings as well as BM25 (needs the optional
    extra ``semtwin[embeddings]``; the model ships in the wheel, nothing is downloaded)."""

    def limits_for(self, role: str) -> tuple[float | None, int | None]:
        """The (timeout, row cap) configured for a role, each None when not set."""
        for entry in self.role_limits:
            name, _, rest = entry.partition("=")
            if name.strip().lower() != role:
                continue
            timeout, _, rows = rest.partition(":")
            return (float(timeout) if timeout.strip() else None,
                    int(rows) if rows.strip() else None)
        return None, None

    @property
    def in_memory(self) -> bool:
        return self.store == "memory"

    @property
    def remote(self) -> bool:
        return "+http" in self.store.split("://", 1)[0]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``SEMTWIN_<FIELD>`` variables, then apply explicit overrides (not None)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"SEMTWIN_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _coerce(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _coerce(type_name: object, raw: str) -> Any:
    text = str(type_name)
    if text == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if text == "str | None":
        return raw or None
    if text == "int":
        return int(raw)
    if text == "float":
        return float(raw)
    if text.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
