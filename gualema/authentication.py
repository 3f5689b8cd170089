from __future__ import annotations

from gualema.settings import Settings
from models import access_revocations
from models.access_tokens import InvalidToken, decode_access_token
from resolvers.context import ANONYMOUS, Viewer
from resolvers.statistics import record_activity

BEARER = "bearer "


async def viewer_from_authorization(value: object, settings: Settings) -> Viewer:
    """`Authorization: Bearer <token>` (HTTP header or connection_init payload) -> the caller.

    No value means anonymous; a value that is not a valid, unexpired, unrevoked token raises
    InvalidToken, so a client learns to refresh (or log in) instead of silently seeing less.
    """
    if value is None or value == "":
        return ANONYMOUS
    if not isinstance(value, str) or not value.lower().startswith(BEARER):
        raise InvalidToken("Authorization must be 'Bearer <token>'")
    claims = decode_access_token(settings.secret_key.get_secret_value(), value[len(BEARER) :].strip())
    await access_revocations.refresh_if_stale(settings.revocation_refresh_seconds)
    if access_revocations.refuses(claims.subject, claims.token_id, claims.issued_at, claims.family):
        raise InvalidToken("this token was revoked")
    if claims.subject is not None:
        await record_activity(claims.subject, settings)  # DAU/MAU: once per account per day per process
    return Viewer(
        account_id=claims.subject,
        role=claims.role,
        room_ids=claims.room_ids,
        expires_at=claims.expires_at,
        token_id=claims.token_id,
        issued_at=claims.issued_at,
        family=claims.family,
    )
