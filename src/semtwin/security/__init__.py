"""Who is calling and what they may do: principals, roles, API keys, JWT bearer tokens, and
the one policy that maps every door (route and method) to the role it needs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    """Each role includes the ones below it."""

    READER = 1     # queries, GETs, the change feed
    WRITER = 2     # twin writes, SPARQL Update, Graph Store writes
    MODELER = 3    # models, shapes, activation, imports
    ADMIN = 4      # keys, audit, backup

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r} (reader, writer, modeler, admin)") \
                from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``key:{id}`` or ``{issuer}|{subject}``."""

    id: str
    role: Role
    via: str   # "api-key", "jwt" or "open" (loopback without authentication)
    tenant: str | None = None
    """The tenant whose store serves this principal (None: the default store)."""

    def allows(self, needed: Role) -> bool:
        return self.role >= needed


OPEN = Principal("anonymous", Role.ADMIN, "open")


TENANT_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
