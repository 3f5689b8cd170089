"""The mini-program client against the fake WeChat API: sessions, phone numbers, WeChat's error
codes, and one access-token fetch however many processes ask at once."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from integrations.wechat.access_token import SharedAccessToken, TokenStore
from integrations.wechat.client import MiniProgramClient, MiniProgramConfig
from integrations.wechat.errors import CODE_USED, INVALID_CODE, RATE_LIMITED, SYSTEM_BUSY, WeChatError
from integrations.wechat.fake import FakeWeChat
from resolvers.wechat import token_store
from tests.conftest import REDIS_URL
from tests.fixtures.wechat import APPID, SECRET


def a_process(url: str, *, redis_prefix: str = "") -> MiniProgramClient:
    """A client as one server process builds it: its own token cache over the shared store."""
    store = token_store(APPID, REDIS_URL if redis_prefix else None, redis_prefix)
    return MiniProgramClient(MiniProgramConfig(APPID, SECRET, url), SharedAccessToken(store))


@pytest.fixture
def url(wechat_server: tuple[FakeWeChat, str], wechat: FakeWeChat) -> str:  # noqa: ARG001 - it empties the fake
    return wechat_server[1]


async def test_a_login_code_gives_the_openid_and_unionid_once(wechat: FakeWeChat, url: str) -> None:
    client = a_process(url)
    code = wechat.login_code("o6_bmjrPTlm6_2sgVt7hMZOPfL2M", unionid="o6_bmasdasdsad6_2sgVt7hMZOPfL")

    session = await client.code_to_session(code)
    with pytest.raises(WeChatError) as used:
        await client.code_to_session(code)
    with pytest.raises(WeChatError) as unknown:
        await client.code_to_session("081KQ4000Vbo0I1y3z200qzl8S3KQ40x")

    assert (session.openid, session.unionid) == (
        "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        "o6_bmasdasdsad6_2sgVt7hMZOPfL",
    )
    assert (used.value.errcode, used.value.code_rejected) == (CODE_USED, True)
    assert (unknown.value.errcode, unknown.value.code_rejected) == (INVALID_CODE, True)


@pytest.mark.parametrize("errcode", [RATE_LIMITED, SYSTEM_BUSY])
async def test_rate_limit_and_system_busy_are_retryable_and_keep_the_code(
    wechat: FakeWeChat, url: str, errcode: int
) -> None:
    client = a_process(url)
    code = wechat.login_code("o6_retry")
    wechat.fail_next("jscode2session", errcode)

    with pytest.raises(WeChatError) as refused:
        await client.code_to_session(code)
    session = await client.code_to_session(code)

    assert (refused.value.errcode, refused.value.retryable, refused.value.code_rejected) == (
        errcode,
        True,
        False,
    )
    assert session.openid == "o6_retry"


async def test_phone_numbers_share_one_access_token(wechat: FakeWeChat, url: str) -> None:
    client = a_process(url)

    first = await client.phone_number(wechat.phone_code("13812345678"))
    second = await client.phone_number(wechat.phone_code("13912345678"))

    assert (first.phone, first.country_code, second.phone) == ("13812345678", "86", "13912345678")
    assert wechat.token_fetches == 1


async def test_a_refused_token_is_refreshed_once_and_the_call_retried(wechat: FakeWeChat, url: str) -> None:
    client = a_process(url)
    await client.phone_number(wechat.phone_code("13812345678"))
    wechat.expire_tokens()  # e.g. someone refreshed the token outside Gualema

    shared = await client.phone_number(wechat.phone_code("13700001111"))

    assert shared.phone == "13700001111"
    assert wechat.token_fetches == 2


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_twenty_processes_asking_at_once_fetch_the_token_once(
    wechat: FakeWeChat, url: str, store: str
) -> None:
    if store == "redis" and not REDIS_URL:
        pytest.skip("needs GUALEMA_TEST_REDIS_URL")
    prefix = f"wx-test-{secrets.token_hex(4)}" if store == "redis" else ""
    processes = [a_process(url, redis_prefix=prefix) for _ in range(20)]
    codes = [wechat.phone_code(f"1380000{n:04d}") for n in range(20)]

    shared = await asyncio.gather(*(p.phone_number(c) for p, c in zip(processes, codes, strict=True)))

    assert [s.phone for s in shared] == [f"1380000{n:04d}" for n in range(20)]
    assert wechat.token_fetches == 1
    stores: list[TokenStore] = [p.token.store for p in processes]
    assert len({id(s) for s in stores}) == 20  # really twenty caches, one shared store
