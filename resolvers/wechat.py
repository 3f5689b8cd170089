"""Logging in from the WeChat mini-program, and the openid WeChat Pay needs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import redis.asyncio

from gualema.settings import Settings
from integrations.wechat.access_token import AccessToken, RedisTokenStore, SharedAccessToken, TokenStore
from integrations.wechat.client import MiniProgramClient, MiniProgramConfig
from integrations.wechat.errors import WeChatError
from models import wechat
from models.accounts import Account
from models.payments import PaymentProvider
from models.wechat import WechatCodeRejected, WechatPhoneRequired, WechatUnavailable
from resolvers.accounts import Session, _open_session, clean_phone
from resolvers.context import Context

log = logging.getLogger("gualema.wechat")


class DatabaseTokenStore:
    """The shared access token in a database row, when no Redis is configured."""

    def __init__(self, appid: str) -> None:
        self.appid = appid

    async def load(self) -> AccessToken | None:
        row = await wechat.stored_token(self.appid)
        return AccessToken(row.value, row.expires_at) if row else None

    async def lease(self, owner: str, seconds: float) -> bool:
        return await wechat.take_token_lease(self.appid, owner, seconds)

    async def save(self, token: AccessToken) -> None:
        await wechat.save_token(self.appid, token.value, token.expires_at)

    async def release(self, owner: str) -> None:
        await wechat.release_token_lease(self.appid, owner)

    async def forget(self, value: str) -> None:
        await wechat.forget_token(self.appid, value)


def token_store(appid: str, redis_url: str | None, redis_prefix: str) -> TokenStore:
    if redis_url:
        client = redis.asyncio.from_url(redis_url, decode_responses=True)
        return RedisTokenStore(client, redis_prefix, appid)
    return DatabaseTokenStore(appid)


@lru_cache(maxsize=4)
def _client(
    appid: str, secret: str, base_url: str, timeout: float, redis_url: str | None, prefix: str
) -> MiniProgramClient:
    config = MiniProgramConfig(appid=appid, secret=secret, base_url=base_url, timeout_seconds=timeout)
    return MiniProgramClient(config, SharedAccessToken(token_store(appid, redis_url, prefix)))


def mini_program(settings: Settings) -> MiniProgramClient:
    """One client per process and configuration (its token cache and HTTP pool are shared)."""
    if not settings.wechat_appid or settings.wechat_secret is None:
        raise WechatUnavailable("微信登录未配置 (WeChat login is not configured)")
    return _client(
        settings.wechat_appid,
        settings.wechat_secret.get_secret_value(),
        settings.wechat_api_base_url,
        settings.payment_http_timeout_seconds,
        settings.redis_url,
        settings.redis_prefix,
    )


@contextmanager
def _wechat_answers() -> Iterator[None]:
    try:
        yield
    except WeChatError as exc:
        if exc.code_rejected:
            raise WechatCodeRejected() from None
        if not exc.retryable:
            log.error("wechat refused the call (check appid/secret): errcode %s", exc.errcode)
        raise WechatUnavailable() from None


async def login_with_wechat(context: Context, code: str, phone_code: str | None) -> Session:
    """`code` from `wx.login()`; `phone_code` from the `getPhoneNumber` button, needed the first time
    only, when no account is linked to this WeChat user yet (docs/decisions/150)."""
    settings = context.settings
    client = mini_program(settings)
    with _wechat_answers():
        who = await client.code_to_session(code)
    account = await wechat.account_of(settings.wechat_appid, who.openid, who.unionid)
    if account is None:
        if not phone_code:
            raise WechatPhoneRequired()
        with _wechat_answers():
            shared = await client.phone_number(phone_code)
        phone = clean_phone(shared.phone, "phoneCode")
        account = await wechat.link(settings.wechat_appid, who.openid, who.unionid, phone)
    return await _open_session(context, account)


async def bind_wechat_phone(context: Context, phone_code: str) -> Account:
    """The caller's phone becomes the one they shared through WeChat's `getPhoneNumber` button."""
    with _wechat_answers():
        shared = await mini_program(context.settings).phone_number(phone_code)
    phone = clean_phone(shared.phone, "phoneCode")
    account_id = context.viewer.account_id
    assert account_id is not None  # the field requires an authenticated account
    return await wechat.bind_phone(account_id, phone)


async def payer_openid(context: Context, provider: PaymentProvider, given: str | None) -> str:
    """WeChat Pay's payer: the openid of the caller's linked WeChat identity (a given one still wins,
    for clients that predate WeChat login)."""
    if given or provider is not PaymentProvider.WECHAT_PAY or context.viewer.account_id is None:
        return given or ""
    appid = context.settings.wechat_appid or context.settings.wechat_pay_appid
    return await wechat.openid_of(context.viewer.account_id, appid) or ""
