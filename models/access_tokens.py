"""Short-lived signed access tokens (JWT, HS256) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from models.clock import utcnow

ISSUER = "gualema"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    subject: int | None
    role: str
    expires_at: datetime
    room_ids: frozenset[int] = frozenset()
    token_id: str = ""
    issued_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)


def issue_access_token(
    secret: str,
    *,
    subject: int | None,
    role: str,
    lifetime: timedelta,
    room_ids: frozenset[int] = frozenset(),
) -> tuple[str, datetime]:
    now = utcnow()
    expires = now + lifetime
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(subject) if subject is not None else "",
        "role": role,
        # Milliseconds (RFC 7519 allows a fraction): a revocation refuses exactly the tokens before it.
        "iat": round(now.timestamp(), 3),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    if room_ids:
        claims["rooms"] = sorted(room_ids)
    return jwt.encode(claims, secret, algorithm="HS256"), expires


# Tokens whose signature was checked, by (secret, token): a phone sends the same token with every
# request for up to 15 minutes, and checking it again is a tenth of the booking hot path's CPU. The
# expiry is still checked on every use; a new secret (rotation) misses the cache.
_VERIFIED_LIMIT = 8192
_verified: dict[tuple[str, str], AccessClaims] = {}


def decode_access_token(secret: str, token: str) -> AccessClaims:
    known = _verified.get((secret, token))
    if known is not None:
        if known.expires_at.timestamp() > time.time():
            return known
        del _verified[(secret, token)]
    claims = _decode(secret, token)
    if len(_verified) >= _VERIFIED_LIMIT:
        _verified.clear()  # simpler than LRU and as good: a full cache refills within a minute
    _verified[(secret, token)] = claims
    return claims


def _decode(secret: str, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "role"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    return AccessClaims(
        subject=int(claims["sub"]) if claims["sub"] else None,
        role=str(claims["role"]),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        room_ids=frozenset(int(r) for r in claims.get("rooms", [])),
        token_id=str(claims.get("jti", "")),
        issued_at=datetime.fromtimestamp(float(claims.get("iat", 0)), UTC),
    )


def new_refresh_token() -> tuple[str, str]:
    """Returns (the token for the client, the hash we store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
