"""API keys: ``stk_{id}_{secret}``, shown once, stored as a SHA-256 hash with their role in a
keys file beside the store (mode 0600, never in the store, so no query can read it), and
revocable. The server re-reads the file when it changes: keys created or revoked with the
CLI take effect without a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from semtwin.errors import InvalidInput, NotFound
from semtwin.security import TENANT_NAME, Principal, Role

_PREFIX = "stk_"


@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    role: Role
    created: str
    revoked: bool
    tenant: str | None = None

    def json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "role": self.role.label,
                "tenant": self.tenant, "created": self.created, "revoked": self.revoked}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """Keys in a JSON file (``None``: in memory, for an in-memory store)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._memory: list[dict[str, Any]] = []
        self._cache: tuple[float, list[dict[str, Any]]] | None = None

    @property
    def path(self) -> Path | None:
        return self._path

    def _read(self) -> list[dict[str, Any]]:
        if self._path is None:
            return self._memory
        try:
            stamp = self._path.stat().st_mtime
        except FileNotFoundError:
            return []
        if self._cache is None or self._cache[0] != stamp:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            self._cache = (stamp, list(data.get("keys", [])))
        return self._cache[1]

    def _write(self, keys: list[dict[str, Any]]) -> None:
        if self._path is None:
            self._memory = keys
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"keys": keys}, handle, indent=1)
        os.replace(temporary, self._path)
        self._cache = None

    def create(self, role: Role, name: str = "", tenant: str | None = None
               ) -> tuple[KeyRecord, str]:
        """A new key; the returned secret is never stored and cannot be shown again."""
        if tenant is not None and not re.match(TENANT_NAME, tenant):
            raise InvalidInput(f"tenant {tenant!r}: lower-case letters, digits and '-'")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        entry = {"id": key_id, "name": name, "role": role.label, "created": now,
                 "sha256": _digest(secret), "revoked": False, "tenant": tenant}
        with self._lock:
            self._write([*self._read(), entry])
        return KeyRecord(key_id, name, role, now, False, tenant), \
            f"{_PREFIX}{key_id}_{secret}"

    def revoke(self, key_id: str) -> None:
        with self._lock:
            keys = [dict(k) for k in self._read()]
            found = [k for k in keys if k["id"] == key_id]
            if not found:
                raise NotFound(f"no key {key_id}")
            found[0]["revoked"] = True
            self._write(keys)

    def records(self) -> list[KeyRecord]:
        return [KeyRecord(k["id"], k.get("name", ""), Role.parse(k["role"]), k["created"],
                          bool(k.get("revoked")), k.get("tenant")) for k in self._read()]

    def any_active(self) -> bool:
        return any(not k.get("revoked") for k in self._read())

    def verify(self, presented: str) -> Principal | None:
        """The principal of a presented key, or None (unknown, malformed or revoked)."""
        if not presented.startswith(_PREFIX):
            return None
        key_id, _, secret = presented[len(_PREFIX):].partition("_")
        if not key_id or not secret:
            return None
        for entry in self._read():
            if entry["id"] == key_id:
                if entry.get("revoked") or not hmac.compare_digest(entry["sha256"],
                                                                   _digest(secret)):
                    return None
                return Principal(f"key:{key_id}", Role.parse(entry["role"]), "api-key",
                                 entry.get("tenant"))
        return None


def keys_path(store: str, configured: str | None, data_dir: Path) -> Path | None:
    """Where the keys live: the configured file, beside an embedded store's directory, or
    in the data directory for a remote store; None for an in-memory store."""
    if configured:
        return Path(configured)
    if store == "memory":
        return None
    if "+http" in store.split("://", 1)[0]:
        return data_dir / "keys.json"
    directory = Path(store)
    return directory.with_name(directory.name + ".keys.json")
