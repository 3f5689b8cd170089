"""The Aliyun SMS client against a fake Aliyun endpoint that verifies the RPC signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integrations.sms.aliyun.client import AliyunSmsProvider
from integrations.sms.aliyun.fake import FakeAliyunSms
from integrations.sms.aliyun.signature import canonicalised_query, percent_encode, sign, string_to_sign
from integrations.sms.fake_ledger import FakeSmsLedger, serving
from integrations.sms.interface import OutgoingSms, SmsError
from models.identity import mask_phone

KEY_ID, SECRET = "LTAI-key", "aliyun-secret"


def sms(phone: str = "13800001111", key: str = "gl-key-1") -> OutgoingSms:
    return OutgoingSms(
        phone=phone,
        event="verification.code",
        text="您的验证码是123456，5分钟内有效。请勿告诉他人。",
        params={"code": "123456", "minutes": "5"},
        variables=("code", "minutes"),
        idempotency_key=key,
        masked_phone=mask_phone(phone),
    )


def client(url: str, secret: str = SECRET) -> AliyunSmsProvider:
    return AliyunSmsProvider(
        endpoint=url,
        access_key_id=KEY_ID,
        access_key_secret=secret,
        sign_name="挂了吗",
        region="cn-hangzhou",
        template_codes={"verification.code": "SMS_000001"},
        timeout=5,
    )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAliyunSms, str]]:
    server = FakeAliyunSms({KEY_ID: SECRET}, FakeSmsLedger())
    async with serving(server.app) as url:
        yield server, url


def test_percent_encoding_and_the_string_to_sign_follow_the_rpc_rules() -> None:
    assert percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"
    params = {"b": "2", "a": "x y", "Signature": "ignored"}
    assert canonicalised_query(params) == "a=x%20y&b=2"
    assert string_to_sign("POST", params) == "POST&%2F&a%3Dx%2520y%26b%3D2"
    # HMAC-SHA1 keyed with the secret and "&", base64; the expected value was computed with openssl:
    # printf '%s' 'POST&%2F&a%3Dx%2520y%26b%3D2' | openssl dgst -sha1 -hmac 'secret&' -binary | base64
    assert sign("POST", params, "secret") == "p2Lqorb1zjN/cVotQ09RT4qFdjA="


async def test_a_signed_request_is_delivered_once_per_idempotency_key(
    fake: tuple[FakeAliyunSms, str],
) -> None:
    server, url = fake
    provider = client(url)
    first = await provider.send(sms())
    again = await provider.send(sms())  # a retry after a lost answer: same OutId
    await provider.aclose()

    assert first.provider_message_id == again.provider_message_id
    [text] = server.ledger.texts
    assert (text.phone, text.template, text.params) == (
        "13800001111",
        "SMS_000001",
        {"code": "123456", "minutes": "5"},
    )
    assert server.ledger.requests_by_key == {"gl-key-1": 2}


async def test_a_wrong_secret_is_refused_for_good(fake: tuple[FakeAliyunSms, str]) -> None:
    server, url = fake
    provider = client(url, secret="not-the-secret")
    with pytest.raises(SmsError) as refused:
        await provider.send(sms())
    await provider.aclose()
    assert (refused.value.code, refused.value.retryable) == ("SignatureDoesNotMatch", False)
    assert server.ledger.texts == []


async def test_per_number_flow_control_answers_business_limit_control_which_is_retried_later(
    fake: tuple[FakeAliyunSms, str],
) -> None:
    server, url = fake
    server.ledger.per_number_per_minute = 1
    provider = client(url)
    await provider.send(sms(key="one"))
    with pytest.raises(SmsError) as limited:
        await provider.send(sms(key="two"))
    await provider.aclose()
    assert (limited.value.code, limited.value.retryable) == ("isv.BUSINESS_LIMIT_CONTROL", True)


async def test_a_bad_number_is_final(fake: tuple[FakeAliyunSms, str]) -> None:
    _, url = fake
    provider = client(url)
    with pytest.raises(SmsError) as refused:
        await provider.send(sms(phone="10086"))
    await provider.aclose()
    assert (refused.value.code, refused.value.retryable) == ("isv.MOBILE_NUMBER_ILLEGAL", False)


async def test_a_replayed_nonce_and_a_stale_timestamp_are_refused(fake: tuple[FakeAliyunSms, str]) -> None:
    _, url = fake
    provider = client(url)
    params = provider.signed_params(sms())
    stale = provider.signed_params(sms(), now=datetime.now(UTC) - timedelta(minutes=20))
    await provider.aclose()
    async with httpx.AsyncClient() as http:
        ok = (await http.post(url, data=params)).json()
        replayed = await http.post(url, data=params)
        expired = await http.post(url, data=stale)
    assert ok["Code"] == "OK"
    assert (replayed.status_code, replayed.json()["Code"]) == (400, "SignatureNonceUsed")
    assert (expired.status_code, expired.json()["Code"]) == (400, "InvalidTimeStamp.Expired")


async def test_an_unreachable_endpoint_is_a_retryable_transport_error() -> None:
    provider = client("http://127.0.0.1:9/")
    with pytest.raises(SmsError) as failed:
        await provider.send(sms())
    await provider.aclose()
    assert (failed.value.code, failed.value.retryable) == ("Transport", True)


async def test_an_event_without_a_configured_template_is_final() -> None:
    provider = client("http://127.0.0.1:9/")
    provider.template_codes = {}
    with pytest.raises(SmsError, match="TemplateNotConfigured"):
        await provider.send(sms())
    await provider.aclose()
