"""Fixtures: the fake WeChat Pay and Alipay servers on 127.0.0.1 with keys generated here, and the
application configured to use them (notifications come back to the live server)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from starlette.applications import Starlette

from gualema.settings import Settings
from integrations.payments.alipay.fake import FakeAlipay
from integrations.payments.keys import private_pem, public_pem
from integrations.payments.wechat.fake import FakeWeChatPay
from tests.fixtures.api import LiveServer, free_port

APIV3_KEY = "0123456789abcdefghijklmnopqrstuv"  # 32 bytes, as WeChat requires


@functools.cache
def test_keys() -> tuple[rsa.RSAPrivateKey, ...]:
    """Merchant, WeChat platform, Alipay app, Alipay platform and an untrusted key, made once per run."""
    return tuple(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(5))


@dataclass
class Providers:
    wechat: FakeWeChatPay
    alipay: FakeAlipay
    wechat_url: str
    alipay_url: str
    notify_base: str
    other_key: rsa.RSAPrivateKey  # a key nobody trusts, for forgeries


async def _serve(app: Starlette) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", timeout_graceful_shutdown=1
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no "started" event to wait on)
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
async def providers(settings: Settings, live_server: LiveServer) -> AsyncIterator[Providers]:
    merchant, platform, app_key, alipay_key, other = test_keys()
    wechat = FakeWeChatPay(
        mchid="1900000109",
        appid="wxd678efh567hg6787",
        merchant_serial="5157F09EFDC096DE15EBE81A47057A72",
        merchant_public_key=merchant.public_key(),
        platform_serial="PUB_KEY_ID_0114232134912410000000000000",
        platform_private_key=platform,
        apiv3_key=APIV3_KEY,
    )
    alipay = FakeAlipay(
        app_id="2021000000000001",
        seller_id="2088000000000001",
        app_public_key=app_key.public_key(),
        alipay_private_key=alipay_key,
    )
    wechat_server, wechat_task, wechat_url = await _serve(wechat.app())
    alipay_server, alipay_task, alipay_url = await _serve(alipay.app())
    wechat.base_url = wechat_url
    alipay.base_url = alipay_url
    updates: dict[str, Any] = {
        "payment_notify_base_url": live_server.url,
        "wechat_pay_mchid": wechat.mchid,
        "wechat_pay_appid": wechat.appid,
        "wechat_pay_merchant_serial": wechat.merchant_serial,
        "wechat_pay_private_key": SecretStr(private_pem(merchant)),
        "wechat_pay_apiv3_key": SecretStr(APIV3_KEY),
        "wechat_pay_platform_public_keys": {wechat.platform_serial: public_pem(platform.public_key())},
        "wechat_pay_base_url": wechat_url,
        "alipay_app_id": alipay.app_id,
        "alipay_seller_id": alipay.seller_id,
        "alipay_private_key": SecretStr(private_pem(app_key)),
        "alipay_public_key": public_pem(alipay_key.public_key()),
        "alipay_gateway_url": f"{alipay_url}/gateway.do",
    }
    # The session's one Settings object is the app's too: configure it like an operator would.
    previous = {name: getattr(settings, name) for name in updates}
    for name, value in updates.items():
        setattr(settings, name, value)
    yield Providers(wechat, alipay, wechat_url, alipay_url, live_server.url, other)
    for name, value in previous.items():
        setattr(settings, name, value)
    for server in (wechat_server, alipay_server):
        server.should_exit = True
    await asyncio.gather(wechat_task, alipay_task)


@pytest.fixture(autouse=True)
def fresh_ledgers(request: pytest.FixtureRequest) -> None:
    # The fakes live for the session; each test starts from empty provider ledgers, like the tables.
    if "providers" in request.fixturenames:
        found: Providers = request.getfixturevalue("providers")
        found.wechat.orders.clear()
        found.wechat.refunds.clear()
        found.wechat.rejected_requests.clear()
        found.wechat.early_close_attempts = 0
        found.wechat.refund_requests = 0
        found.wechat.refunds_succeed_at_once = True
        found.wechat.down = False
        found.alipay.trades.clear()
        found.alipay.refunds.clear()
        found.alipay.rejected_requests.clear()
        found.alipay.refund_requests = 0
