"""OIDC/JWT bearer tokens, verified with PyJWT against a JWKS (a file, or a URL fetched by
PyJWT's client with its cache): signature (RS256, ES256 only; never ``none``), issuer,
audience, expiry. The role comes from the ``roles`` claim (a list or a string; the highest
known role wins) or ``scope`` (space-separated)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from semtwin.security import TENANT_NAME, Principal, Role

ALGORITHMS = ["RS256", "ES256"]


@dataclass(frozen=True)
class TokenError(Exception):
    reason: str


class TokenVerifier:
    def __init__(self, issuer: str, audience: str, jwks: str, leeway: float = 30.0) -> None:
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._client: jwt.PyJWKClient | None = None
        self._file: Path | None = None
        if jwks.startswith(("https://", "http://")):
            self._client = jwt.PyJWKClient(jwks, cache_keys=True, lifespan=300)
        else:
            self._file = Path(jwks)
            self._keys()  # fail at start-up, not at the first request

    def _keys(self) -> dict[str, Any]:
        assert self._file is not None
        data = json.loads(self._file.read_text(encoding="utf-8"))
        return {k.get("kid", ""): jwt.PyJWK(k) for k in data.get("keys", [])}

    def _key(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            raise TokenError(f"algorithm {header.get('alg')!r} is not accepted "
                             f"({', '.join(ALGORITHMS)})")
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        keys = self._keys()  # re-read: rotating the file takes effect without a restart
        kid = header.get("kid", "")
        if kid not in keys:
            if len(keys) == 1 and not kid:
                return next(iter(keys.values())).key
            raise TokenError(f"no key {kid!r} in the JWKS")
        return keys[kid].key

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._key(token), algorithms=ALGORITHMS,
                                audience=self._audience, issuer=self._issuer,
                                leeway=self._leeway,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except TokenError:
            raise
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise TokenError("the token is not for this audience") from None
        except jwt.InvalidIssuerError:
            raise TokenError("the token is not from the configured issuer") from None
        except jwt.PyJWTError as err:
            raise TokenError(f"invalid token: {err}") from None
        tenant = claims.get("tenant")
        if tenant is not None and (not isinstance(tenant, str)
                                   or not re.match(TENANT_NAME, tenant)):
            raise TokenError("the token's tenant claim is not a tenant name")
        return Principal(f"{claims['iss']}|{claims['sub']}", _role(claims), "jwt", tenant)


def _role(claims: dict[str, Any]) -> Role:
    names: list[str] = []
    roles = claims.get("roles")
    if isinstance(roles, str):
        names = [roles]
    elif isinstance(roles, list):
        names = [r for r in roles if isinstance(r, str)]
    scope = claims.get("scope")
    if isinstance(scope, str):
        names += scope.split()
    known = []
    for name in names:
        try:
            known.append(Role.parse(name.removeprefix("semtwin:")))
        except ValueError:
            continue
    if not known:
        raise TokenError("the token grants no semtwin role (claim 'roles' or 'scope')")
    return max(known)
