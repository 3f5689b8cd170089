"""Password reset by a texted code (docs/decisions/240-password-reset-by-code.md).

An administrator sends the code to the account's own phone (`resetAccountPassword`), or the holder asks
for it (`requestPasswordReset`, forgot password). Whoever comes back with the phone's current code sets
a new password, and every login of the account ends with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from models import access_revocations, audit
from models.accounts import Account, revoke_all_sessions
from models.errors import NotFound
from models.text_rules import clean_text
from models.verification_codes import PASSWORD_RESET, InvalidCode, verify
from resolvers.accounts import clean_password, clean_phone, hash_password_off_loop
from resolvers.context import Context
from resolvers.notifications import CodeSent, check_code, text_code

RESET_TEXT = "password.reset_code"


async def reset_account_password(context: Context, account_id: int, reason: str) -> CodeSent:
    """An administrator texts a reset code to the account's phone; the password stays until it is used.
    Per-phone limits only: the administrator's own address is not the one to throttle."""
    reason = clean_text(reason, field="reason", max_length=200, required=False)
    account = await Account.get_or_none(id=account_id)
    if account is None:
        raise NotFound("account not found")
    sent = await text_code(
        context,
        account.phone,
        account_id=account.id,
        purpose=PASSWORD_RESET,
        event=RESET_TEXT,
        per_address=False,
    )
    await audit.record(
        context.viewer.account_id, "account.password_reset_sent", "account", account.id, reason=reason
    )
    return sent


async def request_password_reset(context: Context, phone: str) -> CodeSent:
    """Forgot password. The same limits are spent and the same answer given whether or not the phone has
    an account, so the answer never tells which phones are registered."""
    phone = clean_phone(phone)
    account = await Account.get_or_none(phone=phone)
    return await text_code(
        context,
        phone,
        account_id=account.id if account else None,
        purpose=PASSWORD_RESET,
        event=RESET_TEXT,
        deliver=account is not None,
    )


@dataclass(frozen=True)
class PasswordResetDone:
    phone: str


async def complete_password_reset(
    context: Context, phone: str, code: str, new_password: str
) -> PasswordResetDone:
    phone = clean_phone(phone)
    check_code(code)
    # The new password is checked before the code is spent: a weak password must not burn the code.
    clean_password(new_password, "newPassword")
    await verify(phone, code, secret=context.settings.secret_key.get_secret_value(), purpose=PASSWORD_RESET)
    account = await Account.get_or_none(phone=phone)
    if account is None:  # no code is issued for a phone without an account; deleted meanwhile
        raise InvalidCode()
    password_hash = await hash_password_off_loop(new_password)
    async with in_transaction():
        await Account.filter(id=account.id).update(password_hash=password_hash)
        # Every refresh family and every access token issued so far; subscriptions end with them
        # through the transport's revocation check (decision 172).
        revoked = await revoke_all_sessions(account.id, context.settings.access_token_lifetime)
        await audit.record(account.id, "account.password_reset", "account", account.id)
    access_revocations.remember(revoked)  # at once here; other processes at their next refresh
    return PasswordResetDone(phone)
