"""Display tokens: what a waiting-room TV uses instead of a login (decision 064)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models import audit
from models.access_tokens import issue_access_token
from models.catalogue import Room
from models.errors import InvalidInput, NotFound
from resolvers.context import DISPLAY_ROLE, Context

MAX_ROOMS_PER_DISPLAY = 50


@dataclass(frozen=True)
class IssuedDisplayToken:
    token: str
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
    settings = context.settings
    token, expires_at = issue_access_token(
        settings.secret_key.get_secret_value(),
        subject=None,
        role=DISPLAY_ROLE,
        lifetime=timedelta(days=settings.display_token_days),
        room_ids=frozenset(wanted),
    )
    await audit.record(
        context.viewer.account_id, "display_token.issued", "rooms", ",".join(str(r) for r in wanted)
    )
    return IssuedDisplayToken(token, expires_at, wanted)
