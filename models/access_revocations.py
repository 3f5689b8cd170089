"""Access tokens refused before they expire (docs/decisions/101-access-token-revocation.md).

A logout ends its own access token; a logout everywhere or a disabled account ends every access token
of the account issued until then; an administrator can end one display token. This takes effect at
once in the process that did it, and in every other process at its next refresh of this table (every
`revocation_refresh_seconds`, one small read). Rows are kept only as long as a token they name could
still be valid, so the table and the in-process copy stay short, and the check on every request is a
dictionary lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise import fields
from tortoise.models import Model

from models.clock import utcnow
from models.reloaded_copy import ReloadSchedule


class AccessRevocation(Model):
    # One access token (token_id), or every token of the account issued before `issued_before`.
    id = fields.BigIntField(primary_key=True)
    account_id = fields.IntField()
    token_id = fields.CharField(max_length=32, null=True)
    issued_before = fields.DatetimeField()
    forget_after = fields.DatetimeField(db_index=True)  # no token it names is valid after this
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "access_revocation"


@dataclass
class RevocationList:
    # This process's copy of the table.
    tokens: dict[str, datetime] = field(default_factory=dict)  # token id -> forget after
    accounts: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)  # -> (before, forget)
    schedule: ReloadSchedule = field(default_factory=ReloadSchedule)

    def refuses(
        self, account_id: int | None, token_id: str, issued_at: datetime | None, family: str = ""
    ) -> bool:
        if token_id and token_id in self.tokens:
            return True
        if family and family_key(family) in self.tokens:
            return True
        account = self.accounts.get(account_id) if account_id is not None else None
        return account is not None and (issued_at is None or issued_at < account[0])

    def add(self, row: AccessRevocation) -> None:
        if row.token_id:
            self.tokens[row.token_id] = row.forget_after
            return
        known = self.accounts.get(row.account_id)
        if known is None or known[0] < row.issued_before:
            self.accounts[row.account_id] = (row.issued_before, row.forget_after)

    def replace(self, rows: list[AccessRevocation]) -> None:
        self.tokens, self.accounts = {}, {}
        for row in rows:
            self.add(row)


REVOKED = RevocationList()


async def refresh_if_stale(every_seconds: float) -> None:
    """Reload the table when the copy is older than `every_seconds`; one reload at a time."""

    async def reload() -> None:
        REVOKED.replace(await AccessRevocation.filter(forget_after__gt=utcnow()))

    await REVOKED.schedule.reload_if_stale(every_seconds, reload)


async def revoke_token(account_id: int, token_id: str, expires_at: datetime) -> AccessRevocation:
    """This access token, until it expires. Call in the logout's transaction; `remember` after it."""
    return await AccessRevocation.create(
        account_id=account_id, token_id=token_id, issued_before=expires_at, forget_after=expires_at
    )


async def revoke_account(account_id: int, lifetime: timedelta) -> AccessRevocation:
    """Every access token of the account issued until now (they live at most `lifetime`)."""
    now = utcnow()
    return await AccessRevocation.create(
        account_id=account_id, issued_before=now, forget_after=now + lifetime
    )


def remember(row: AccessRevocation) -> None:
    """After commit: this process refuses the tokens at once (the others at their next refresh)."""
    REVOKED.add(row)


async def purge_forgotten() -> int:
    return await AccessRevocation.filter(forget_after__lte=utcnow()).delete()


async def revoke_display_token(token_id: str, lifetime: timedelta) -> AccessRevocation:
    """A waiting-room display's token (it has no account), for as long as such a token lives."""
    now = utcnow()
    return await AccessRevocation.create(
        account_id=0, token_id=token_id, issued_before=now, forget_after=now + lifetime
    )


def refuses(
    viewer_account_id: int | None, token_id: str, issued_at: datetime | None, family: str = ""
) -> bool:
    return REVOKED.refuses(viewer_account_id, token_id, issued_at, family)


FAMILY_PREFIX = "fam:"


def family_key(family: str) -> str:
    """The `token_id` of a row that refuses every access token of one login (refresh family)."""
    return FAMILY_PREFIX + family[:28]


async def revoke_family(account_id: int, family: str, lifetime: timedelta) -> AccessRevocation:
    """Every access token issued from one refresh family (a reused refresh token: a stolen login)."""
    now = utcnow()
    return await AccessRevocation.create(
        account_id=account_id, token_id=family_key(family), issued_before=now, forget_after=now + lifetime
    )
