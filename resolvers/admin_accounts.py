"""Administration of accounts: listing, disabling and enabling, the audit trail. Admin-only fields."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models import access_revocations, audit
from models.accounts import ACCOUNT_AUDIT_FIELDS, Account, Role, revoke_all_sessions
from models.audit import AuditEntry
from models.errors import NotAllowed, NotFound
from models.identity import mask_phone, normalise_phone
from models.text_rules import clean_text
from resolvers.context import Context
from resolvers.pagination import Page, keyset_page


def account_snapshot(account: Account) -> dict[str, object]:
    return {**audit.snapshot(account, ACCOUNT_AUDIT_FIELDS), "phone": mask_phone(account.phone)}


async def list_accounts(
    context: Context,
    first: int,
    after: int | None,
    role: Role | None = None,
    phone: str | None = None,
    disabled: bool | None = None,
) -> Page[Account]:
    query = Account.all()
    if role is not None:
        query = query.filter(role=role)
    if phone is not None:
        query = query.filter(phone=normalise_phone(phone))
    if disabled is not None:
        query = query.filter(disabled=disabled)
    return await keyset_page(query, first, after)


def _clean_reason(reason: str) -> str:
    return clean_text(reason, field="reason", max_length=200)


async def disable_account(context: Context, account_id: int, reason: str) -> Account:
    reason = _clean_reason(reason)
    if account_id == context.viewer.account_id:
        raise NotAllowed("administrators cannot disable their own account")
    async with in_transaction():
        account = await Account.select_for_update().get_or_none(id=account_id)
        if account is None:
            raise NotFound("account not found")
        if account.disabled:
            return account  # already disabled: nothing written, nothing audited
        before = account_snapshot(account)
        account.disabled, account.disabled_reason = True, reason
        await account.save(update_fields=["disabled", "disabled_reason"])
        revoked = await revoke_all_sessions(account.id, context.settings.access_token_lifetime)
        await audit.record(
            context.viewer.account_id,
            "account.disable",
            "account",
            account.id,
            before=before,
            after=account_snapshot(account),
            reason=reason,
        )
    access_revocations.remember(revoked)  # at once here; other processes at their next refresh
    return account


async def enable_account(context: Context, account_id: int) -> Account:
    async with in_transaction():
        account = await Account.select_for_update().get_or_none(id=account_id)
        if account is None:
            raise NotFound("account not found")
        if not account.disabled:
            return account
        before = account_snapshot(account)
        account.disabled, account.disabled_reason = False, None
        await account.save(update_fields=["disabled", "disabled_reason"])
        await audit.record(
            context.viewer.account_id,
            "account.enable",
            "account",
            account.id,
            before=before,
            after=account_snapshot(account),
        )
    return account


async def reveal_account_phone(context: Context, account_id: int, reason: str) -> str:
    reason = _clean_reason(reason)
    account = await Account.get_or_none(id=account_id)
    if account is None:
        raise NotFound("account not found")
    await audit.record(
        context.viewer.account_id, "account.reveal_phone", "account", account.id, reason=reason
    )
    return account.phone


async def audit_entries(
    context: Context,
    first: int,
    after: int | None,
    action: str | None = None,
    target_type: str | None = None,
) -> Page[AuditEntry]:
    query = AuditEntry.all()
    if action is not None:
        query = query.filter(action=action)
    if target_type is not None:
        query = query.filter(target_type=target_type)
    return await keyset_page(query, first, after)
