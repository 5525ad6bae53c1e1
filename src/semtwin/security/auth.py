"""Authentication for a runtime: API keys from the store, JWT bearer tokens when an issuer is
configured, open access only when neither is (the server then stays on loopback), and a
per-principal rate limit."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from semtwin.security import OPEN, Principal
from semtwin.security.keys import KeyStore, keys_path
from semtwin.security.tokens import TokenError, TokenVerifier
from semtwin.settings import Settings, default_store_dir

_RECHECK_KEYS = 30.0


class Unauthenticated(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Token buckets per principal: ``rate`` requests per second, bursts of ``burst``."""

    rate: float
    burst: float
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, principal: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(principal)
            if bucket is None:
                bucket = self._buckets[principal] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.keys = KeyStore(keys_path(settings.store, settings.keys_file,
                                       default_store_dir().parent))
        self.tokens = TokenVerifier(settings.jwt_issuer, settings.jwt_audience or "semtwin",
                                    settings.jwt_jwks) \
            if settings.jwt_issuer and settings.jwt_jwks else None
        self.limiter = RateLimiter(settings.rate_limit, max(10.0, 2 * settings.rate_limit)) \
            if settings.rate_limit > 0 else None
        self._keys_seen = False
        self._checked = 0.0

    @property
    def configured(self) -> bool:
        """Whether any credential can be presented (then every request must present one)."""
        if self.tokens is not None:
            return True
        now = time.monotonic()
        if not self._keys_seen and now - self._checked > _RECHECK_KEYS:
            # once keys exist the server stays closed, even if they are all revoked later
            self._checked = now
            self._keys_seen = self.keys.any_active()
        return self._keys_seen

    def describe(self) -> str:
        if not self.configured:
            return "open access on loopback (no authentication configured)"
        parts = []
        if self._keys_seen:
            parts.append("API keys")
        if self.tokens is not None:
            parts.append("OIDC bearer tokens")
        return "authentication required (" + ", ".join(parts) + ")"

    def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        if not self.configured:
            return OPEN
        presented = api_key
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise Unauthenticated("use 'Authorization: Bearer <token or API key>'")
            presented = credentials.strip()
        if not presented:
            raise Unauthenticated("credentials required: an API key or a bearer token")
        if presented.startswith("stk_"):
            principal = self.keys.verify(presented)
            if principal is None:
                raise Unauthenticated("unknown or revoked API key")
            return principal
        if self.tokens is None:
            raise Unauthenticated("bearer tokens are not configured on this server")
        try:
            return self.tokens.verify(presented)
        except TokenError as err:
            raise Unauthenticated(err.reason) from None
