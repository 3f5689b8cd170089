"""Partner API keys on HTTP requests: `X-Api-Key: glk_…` or `Authorization: Bearer glk_…`."""

from __future__ import annotations

from starlette.datastructures import Headers

from gualema.persisted_queries import Refused
from models import partners
from models.partners import KEY_PREFIX, PartnerGrant


def api_key_of(headers: Headers) -> str | None:
    key = headers.get("x-api-key")
    if key is not None:
        return key.strip()
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer " and authorization[7:].strip().startswith(KEY_PREFIX):
        return authorization[7:].strip()
    return None


async def partner_of(headers: Headers, refresh_seconds: float) -> PartnerGrant | None:
    """None without a key; Refused (401) for a key that is unknown or revoked."""
    key = api_key_of(headers)
    if key is None:
        return None
    grant = await partners.grant_for(key, refresh_seconds) if key.startswith(KEY_PREFIX) else None
    if grant is None:
        raise Refused(
            401,
            "API 密钥无效或已撤销 (the API key is invalid or revoked)",
            "UNAUTHENTICATED",
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return grant
