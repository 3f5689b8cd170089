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
    family: str = ""  # the refresh-token family (login) that issued it, when there is one


def issue_access_token(
    secret: str,
    *,
    subject: int | None,
    role: str,
    lifetime: timedelta,
    room_ids: frozenset[int] = frozenset(),
    family: str = "",
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
    if family:
        claims["fam"] = family
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
    # Claim types are checked here: a validly signed token of the wrong shape is an invalid token
    # (401), never a server fault.
    try:
        return AccessClaims(
            subject=_subject(claims["sub"]),
            role=_text(claims["role"], "role"),
            expires_at=datetime.fromtimestamp(_number(claims["exp"], "exp"), UTC),
            room_ids=frozenset(_integer(r, "rooms") for r in _list(claims.get("rooms", []), "rooms")),
            token_id=_text(claims.get("jti", ""), "jti"),
            issued_at=datetime.fromtimestamp(_number(claims.get("iat", 0), "iat"), UTC),
            family=_text(claims.get("fam", ""), "fam"),
        )
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidToken(f"malformed claims: {exc}") from None


def _subject(value: object) -> int | None:
    if value == "":
        return None
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InvalidToken("`sub` must be an account id")
    return int(value)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidToken(f"`{name}` must be a short string")
    return value


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"`{name}` must be a number")
    return float(value)


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise InvalidToken(f"`{name}` must hold ids")
    return value


def _list(value: object, name: str) -> list[object]:
    if not isinstance(value, list) or len(value) > 1000:
        raise InvalidToken(f"`{name}` must be a list")
    return value


def new_refresh_token() -> tuple[str, str]:
    """Returns (the token for the client, the hash we store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
