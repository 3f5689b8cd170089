from __future__ import annotations

from models.access_tokens import InvalidToken, decode_access_token
from resolvers.context import ANONYMOUS, Viewer

BEARER = "bearer "


def viewer_from_authorization(value: object, secret: str) -> Viewer:
    """`Authorization: Bearer <token>` (HTTP header or connection_init payload) -> the caller.

    No value means anonymous; a value that is not a valid, unexpired token raises InvalidToken,
    so a client learns to refresh instead of silently seeing less.
    """
    if value is None or value == "":
        return ANONYMOUS
    if not isinstance(value, str) or not value.lower().startswith(BEARER):
        raise InvalidToken("Authorization must be 'Bearer <token>'")
    claims = decode_access_token(secret, value[len(BEARER) :].strip())
    return Viewer(
        account_id=claims.subject,
        role=claims.role,
        room_ids=claims.room_ids,
        expires_at=claims.expires_at,
    )
