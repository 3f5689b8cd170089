"""Administration of accounts: listing, disabling and enabling, the audit trail. Admin-only fields."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models import access_revocations, audit
from models.accounts import ACCOUNT_AUDIT_FIELDS, Account, Role, StaffDepartment, revoke_all_sessions
from models.audit import AuditEntry
from models.catalogue import Doctor
from models.errors import InvalidInput, NotAllowed, NotFound
from models.identity import mask_phone, normalise_phone
from models.text_rules import clean_text
from resolvers.context import Context
from resolvers.pagination import Page, keyset_page


def account_snapshot(account: Account) -> dict[str, object]:
    return {**audit.snapshot(account, ACCOUNT_AUDIT_FIELDS), "phone": mask_phone(account.phone)}


async def list_accounts(
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


GRANTABLE = frozenset({Role.ADMIN, Role.REGISTRAR, Role.DOCTOR, Role.PATIENT})


async def set_account_role(
    context: Context, account_id: int, role: Role, department_ids: list[int], reason: str
) -> Account:
    """Grant or remove a staff role (PATIENT removes it), with audit; never the last administrator.
    The account's logins end, so no token keeps the old role."""
    reason = _clean_reason(reason)
    if role not in GRANTABLE:
        raise InvalidInput("role", "no such role")
    async with in_transaction():
        # The administrators' rows, locked in id order: two admins demoting each other serialise here.
        admins = await Account.select_for_update().filter(role=Role.ADMIN, disabled=False).order_by("id")
        account = await Account.select_for_update().get_or_none(id=account_id)
        if account is None:
            raise NotFound("account not found")
        if account.role is Role.ADMIN and role is not Role.ADMIN and len(admins) <= 1:
            raise NotAllowed("the last administrator cannot lose the role")
        if role is Role.DOCTOR and not await Doctor.filter(account_id=account.id).exists():
            raise InvalidInput("role", "make the doctor's profile with createDoctor")
        if role is Role.REGISTRAR and not department_ids:
            raise InvalidInput("departmentIds", "a registrar serves at least one department")
        before = account_snapshot(account)
        account.role = role
        await account.save(update_fields=["role"])
        await StaffDepartment.filter(account_id=account.id).delete()
        if role is Role.REGISTRAR:
            await StaffDepartment.bulk_create(
                [StaffDepartment(account_id=account.id, department_id=d) for d in sorted(set(department_ids))]
            )
        revoked = await revoke_all_sessions(account.id, context.settings.access_token_lifetime)
        await audit.record(
            context.viewer.account_id,
            "account.role",
            "account",
            account.id,
            before=before,
            after={**account_snapshot(account), "department_ids": sorted(set(department_ids))},
            reason=reason,
        )
    access_revocations.remember(revoked)
    return account


async def mark_staff_or_student(context: Context, account_id: int, marked: bool, reason: str) -> Account:
    """Marks an account as staff or student (it may book the staff share, decision 241), or unmarks it."""
    reason = _clean_reason(reason)
    async with in_transaction():
        account = await Account.select_for_update().get_or_none(id=account_id)
        if account is None:
            raise NotFound("account not found")
        if account.staff_or_student is marked:
            return account  # nothing changes, nothing audited
        before = account_snapshot(account)
        account.staff_or_student = marked
        await account.save(update_fields=["staff_or_student"])
        await audit.record(
            context.viewer.account_id,
            "account.staff_or_student",
            "account",
            account.id,
            before=before,
            after=account_snapshot(account),
            reason=reason,
        )
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
