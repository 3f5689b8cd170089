"""WeChat mini-program identities of accounts, and the shared access-token row.

An identity is the (appid-scoped) openid WeChat gives for a user, with the unionid when the app is
bound to an open-platform account. The session key that comes with it is never stored
(docs/decisions/150).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import audit
from models.accounts import Account, AccountDisabled, PhoneTaken, Role
from models.clock import utcnow
from models.errors import DomainError
from models.identity import mask_phone

WECHAT_ACCOUNT_NAME = "微信用户"


class WechatPhoneRequired(DomainError):
    default_message = "首次微信登录需授权手机号 (first WeChat login: share your phone number)"


class WechatCodeRejected(DomainError):
    default_message = (
        "微信登录凭证无效或已使用，请重新获取 (the WeChat code is invalid or used; get a new one)"
    )


class WechatUnavailable(DomainError):
    default_message = "微信服务繁忙，请稍后再试 (WeChat is busy; try again shortly)"


class WechatIdentity(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="wechat_identities", on_delete=fields.CASCADE
    )
    appid = fields.CharField(max_length=32)
    openid = fields.CharField(max_length=64)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "wechat_identity"
        unique_together = (("appid", "openid"),)


async def account_of(appid: str, openid: str, unionid: str | None) -> Account | None:
    identity = await WechatIdentity.get_or_none(appid=appid, openid=openid).select_related("account")
    if identity is None:
        return None
    # A unionid may come later, once the app joined an open-platform account; it is never dropped.
    await WechatIdentity.filter(id=identity.id).update(
        last_login_at=utcnow(), unionid=unionid or identity.unionid
    )
    if identity.account.disabled:
        raise AccountDisabled()
    return identity.account


async def link(appid: str, openid: str, unionid: str | None, phone: str) -> Account:
    """The account holding `phone` (created when none does) gains this WeChat identity.

    An existing account with the phone is linked, never duplicated. Concurrent first logins of the
    same user meet at the unique (appid, openid) and phone indexes; the loser reads the winner's rows.
    """
    for _ in range(3):
        try:
            async with in_transaction():
                account = await Account.get_or_none(phone=phone)
                if account is None:
                    account = await Account.create(phone=phone, name=WECHAT_ACCOUNT_NAME, role=Role.PATIENT)
                if account.disabled:
                    raise AccountDisabled()
                await WechatIdentity.create(
                    account=account, appid=appid, openid=openid, unionid=unionid, last_login_at=utcnow()
                )
                return account
        except IntegrityError:
            existing = await account_of(appid, openid, unionid)
            if existing is not None:
                return existing
    raise WechatUnavailable("concurrent WeChat logins did not settle")


async def bind_phone(account_id: int, phone: str) -> Account:
    """The account's phone becomes the number WeChat vouched for; another account's number is refused."""
    try:
        async with in_transaction():
            await Account.filter(id=account_id).update(phone=phone)
            account = await Account.get(id=account_id)
            await audit.record(
                account_id,
                "account.bind_wechat_phone",
                "account",
                account_id,
                after={"phone": mask_phone(phone)},
            )
    except IntegrityError:
        raise PhoneTaken() from None
    return account


async def openid_of(account_id: int, appid: str) -> str | None:
    identity = (
        await WechatIdentity.filter(account_id=account_id, appid=appid).order_by("-last_login_at").first()
    )
    return identity.openid if identity else None


class WechatAccessToken(Model):
    # One row per appid: the shared access token and the lease of whoever is refreshing it.

    id = fields.IntField(primary_key=True)
    appid = fields.CharField(max_length=32, unique=True)
    value = fields.CharField(max_length=512, default="")
    expires_at = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=32, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "wechat_access_token"


@dataclass(frozen=True)
class StoredToken:
    value: str
    expires_at: datetime


async def stored_token(appid: str) -> StoredToken | None:
    row = await WechatAccessToken.get_or_none(appid=appid)
    if row is None or not row.value or row.expires_at is None:
        return None
    return StoredToken(row.value, row.expires_at)


async def take_token_lease(appid: str, owner: str, seconds: float) -> bool:
    """One conditional UPDATE: of concurrent callers exactly one finds the lease free and takes it."""
    now = utcnow()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    taken = await WechatAccessToken.filter(Q(appid=appid), free).update(
        lease_owner=owner, lease_until=now + timedelta(seconds=seconds)
    )
    if taken:
        return True
    if await WechatAccessToken.exists(appid=appid):
        return False
    try:
        await WechatAccessToken.create(
            appid=appid, lease_owner=owner, lease_until=now + timedelta(seconds=seconds)
        )
    except IntegrityError:
        return False  # another process created the row, and with it the lease
    return True


async def save_token(appid: str, value: str, expires_at: datetime) -> None:
    await WechatAccessToken.filter(appid=appid).update(value=value, expires_at=expires_at)


async def release_token_lease(appid: str, owner: str) -> None:
    await WechatAccessToken.filter(appid=appid, lease_owner=owner).update(lease_owner=None, lease_until=None)


async def forget_token(appid: str, value: str) -> None:
    await WechatAccessToken.filter(appid=appid, value=value).update(value="", expires_at=None)
