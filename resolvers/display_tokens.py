"""Display tokens: what a waiting-room TV uses instead of a login (decision 064)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models import access_revocations, audit
from models.access_tokens import decode_access_token, issue_access_token
from models.catalogue import Room
from models.errors import InvalidInput, NotFound
from models.text_rules import clean_text
from resolvers.context import DISPLAY_ROLE, Context

MAX_ROOMS_PER_DISPLAY = 50
TOKEN_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class IssuedDisplayToken:
    token: str
    token_id: str  # what an administrator names to revoke it (also in the audit log)
    expires_at: datetime
    room_ids: list[int]


async def issue_display_token(context: Context, room_ids: list[int]) -> IssuedDisplayToken:
    """A JWT with role "display", scoped to `room_ids`, valid for settings.display_token_days.
    It carries no account: a stolen token shows boards of those rooms and nothing else."""
    wanted = sorted(set(room_ids))
    if not wanted:
        raise InvalidInput("roomIds", "name at least one room")
    if len(wanted) > MAX_ROOMS_PER_DISPLAY:
        raise InvalidInput("roomIds", f"a display shows at most {MAX_ROOMS_PER_DISPLAY} rooms")
    found = set(await Room.filter(id__in=wanted, archived=False).values_list("id", flat=True))
    missing = [room_id for room_id in wanted if room_id not in found]
    if missing:
        raise NotFound(f"no such room: {', '.join(str(m) for m in missing)}")
    return await issue_device_token(
        context, DISPLAY_ROLE, wanted, "display_token.issued", ("rooms", ",".join(str(r) for r in wanted))
    )


async def issue_device_token(
    context: Context, role: str, room_ids: list[int], action: str, target: tuple[str, str]
) -> IssuedDisplayToken:
    """A token with no account for a screen (waiting-room TV, statistics big screen), audited."""
    settings = context.settings
    token, expires_at = issue_access_token(
        settings.secret_key.get_secret_value(),
        subject=None,
        role=role,
        lifetime=timedelta(days=settings.display_token_days),
        room_ids=frozenset(room_ids),
    )
    token_id = decode_access_token(settings.secret_key.get_secret_value(), token).token_id
    await audit.record(
        context.viewer.account_id,
        action,
        *target,
        after={"token_id": token_id, "expires_at": expires_at.isoformat()},
    )
    return IssuedDisplayToken(token, token_id, expires_at, room_ids)


async def revoke_display_token(context: Context, token_id: str, reason: str) -> str:
    """A lost or replaced display stops: refused at its next connection, and an open board stream
    ends at the board's next change (docs/decisions/101)."""
    token_id = token_id.strip()
    reason = clean_text(reason, field="reason", max_length=200)
    if not TOKEN_ID.fullmatch(token_id):
        raise InvalidInput("tokenId", "a display token id is the 16 hex digits issueDisplayToken gave")
    async with in_transaction():
        revoked = await access_revocations.revoke_display_token(
            token_id, timedelta(days=context.settings.display_token_days)
        )
        await audit.record(
            context.viewer.account_id, "display_token.revoked", "display_token", token_id, reason=reason
        )
    access_revocations.remember(revoked)  # at once here; other processes at their next refresh
    return token_id
