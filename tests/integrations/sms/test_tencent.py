"""The Tencent Cloud SMS client against a fake endpoint that verifies TC3-HMAC-SHA256."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from integrations.sms.fake_ledger import FakeSmsLedger, serving
from integrations.sms.interface import OutgoingSms, SmsError
from integrations.sms.tencent.client import TencentSmsProvider
from integrations.sms.tencent.fake import FakeTencentSms
from integrations.sms.tencent.signature import canonical_request, signature, string_to_sign
from models.identity import mask_phone

SECRET_ID, SECRET_KEY = "AKID-test", "tencent-secret"


def sms(phone: str = "13800002222", key: str = "gl-key-2") -> OutgoingSms:
    return OutgoingSms(
        phone=phone,
        event="queue.your_turn",
        text="王小明，请A012号到诊室3就诊。",
        params={"patient_name": "王小明", "room": "诊室3", "ticket": "A012"},
        variables=("patient_name", "room", "ticket"),
        idempotency_key=key,
        masked_phone=mask_phone(phone),
    )


def client(url: str, secret_key: str = SECRET_KEY) -> TencentSmsProvider:
    return TencentSmsProvider(
        endpoint=url,
        secret_id=SECRET_ID,
        secret_key=secret_key,
        sdk_app_id="1400000000",
        sign_name="挂了吗",
        region="ap-guangzhou",
        template_ids={"queue.your_turn": "449739"},
        timeout=5,
    )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTencentSms, str]]:
    server = FakeTencentSms({SECRET_ID: SECRET_KEY}, FakeSmsLedger())
    async with serving(server.app) as url:
        yield server, url


def test_the_signature_is_built_from_the_canonical_request_and_the_derived_key() -> None:
    canonical = canonical_request("POST", "application/json; charset=utf-8", "sms.tencentcloudapi.com", b"{}")
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:sms.tencentcloudapi.com\n\n"
        "content-type;host\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    to_sign = string_to_sign(1551113065, "sms", canonical)
    assert to_sign.splitlines()[:3] == ["TC3-HMAC-SHA256", "1551113065", "2019-02-25/sms/tc3_request"]
    # Computed independently with openssl's HMAC-SHA256 over the same derivation chain
    # (TC3+secret -> date -> "sms" -> "tc3_request" -> string to sign).
    assert signature("secret", 1551113065, "sms", to_sign) == (
        "9c572d437b4cc161713bb4393147ba491d9778e4de2f279bfdce7405a330cae0"
    )


async def test_a_signed_request_is_delivered_with_positional_parameters(
    fake: tuple[FakeTencentSms, str],
) -> None:
    server, url = fake
    provider = client(url)
    receipt = await provider.send(sms())
    again = await provider.send(sms())
    await provider.aclose()

    [text] = server.ledger.texts
    assert (text.phone, text.template, text.params) == ("13800002222", "449739", ["王小明", "诊室3", "A012"])
    assert receipt.provider_message_id == again.provider_message_id == text.message_id


async def test_a_wrong_key_or_a_tampered_body_fails_the_signature(fake: tuple[FakeTencentSms, str]) -> None:
    server, url = fake
    wrong = client(url, secret_key="nope")
    with pytest.raises(SmsError) as refused:
        await wrong.send(sms())
    await wrong.aclose()
    assert (refused.value.code, refused.value.retryable) == ("AuthFailure.SignatureFailure", False)

    provider = client(url)
    headers, body = provider.request(sms())
    await provider.aclose()
    async with httpx.AsyncClient() as http:
        tampered = await http.post(url, content=body.replace(b"13800002222", b"13900002222"), headers=headers)
    assert tampered.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert server.ledger.texts == []


async def test_an_old_signature_has_expired(fake: tuple[FakeTencentSms, str]) -> None:
    _, url = fake
    provider = client(url)
    headers, body = provider.request(sms(), timestamp=int(time.time()) - 600)
    await provider.aclose()
    async with httpx.AsyncClient() as http:
        answer = (await http.post(url, content=body, headers=headers)).json()
    assert answer["Response"]["Error"]["Code"] == "AuthFailure.SignatureExpire"


async def test_per_number_limits_answer_limit_exceeded_which_is_retried_later(
    fake: tuple[FakeTencentSms, str],
) -> None:
    server, url = fake
    server.ledger.per_number_per_minute = 1
    provider = client(url)
    await provider.send(sms(key="one"))
    with pytest.raises(SmsError) as limited:
        await provider.send(sms(key="two"))
    await provider.aclose()
    assert (limited.value.code, limited.value.retryable) == (
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        True,
    )


async def test_a_bad_number_is_final(fake: tuple[FakeTencentSms, str]) -> None:
    _, url = fake
    provider = client(url)
    with pytest.raises(SmsError) as refused:
        await provider.send(sms(phone="1234"))
    await provider.aclose()
    assert (refused.value.code, refused.value.retryable) == (
        "InvalidParameterValue.IncorrectPhoneNumber",
        False,
    )
