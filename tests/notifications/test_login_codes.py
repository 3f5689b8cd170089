"""Logging in with a texted code: sendLoginCode and loginWithCode."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from models.accounts import Account
from models.clock import utcnow
from models.notifications import SmsMessage
from models.rate_limits import RateLimitSlot
from models.verification_codes import VerificationCode
from tests import factories
from tests.fixtures.api import GraphQLClient

SEND = """
mutation($phone: String!) {
  sendLoginCode(phone: $phone) {
    __typename
    ... on LoginCodeSent { phone expiresAt }
    ... on RateLimitedError { limit retryAfterSeconds }
    ... on Error { message }
  }
}"""

LOGIN = """
mutation($phone: String!, $code: String!) {
  loginWithCode(phone: $phone, code: $code) {
    __typename
    ... on AuthPayload { accessToken account { name phone role } }
    ... on Error { message }
  }
}"""


async def texted_code(phone: str) -> str:
    message = await SmsMessage.filter(phone=phone, event="verification.code").order_by("-id").first()
    assert message is not None
    return str(message.params["code"])


async def test_the_first_login_with_a_code_registers_a_patient(gql: GraphQLClient) -> None:
    sent = (await gql.data(SEND, {"phone": "138 0000 5678"}))["sendLoginCode"]
    assert sent["__typename"] == "LoginCodeSent"
    assert sent["phone"] == "138****5678"
    code = await texted_code("13800005678")
    assert len(code) == 6
    assert code.isdigit()

    login = (await gql.data(LOGIN, {"phone": "13800005678", "code": code}))["loginWithCode"]

    assert login["__typename"] == "AuthPayload"
    assert login["account"] == {"name": "用户5678", "phone": "138****5678", "role": "PATIENT"}
    me = await gql.as_(login["accessToken"]).data("{ me { phone } }")
    assert me == {"me": {"phone": "138****5678"}}


async def test_an_existing_account_logs_in_and_a_code_works_once(gql: GraphQLClient) -> None:
    user = await factories.patient_user(name="李四")
    await gql.data(SEND, {"phone": user.account.phone})
    code = await texted_code(user.account.phone)

    first = (await gql.data(LOGIN, {"phone": user.account.phone, "code": code}))["loginWithCode"]
    again = (await gql.data(LOGIN, {"phone": user.account.phone, "code": code}))["loginWithCode"]

    assert first["account"]["name"] == "李四"
    assert again["__typename"] == "InvalidCodeError"
    assert await Account.filter(phone=user.account.phone).count() == 1


async def test_five_wrong_codes_spend_the_code_even_for_the_right_one(gql: GraphQLClient) -> None:
    await gql.data(SEND, {"phone": "13800001234"})
    code = await texted_code("13800001234")
    wrong = "000000" if code != "000000" else "111111"

    answers = [
        (await gql.data(LOGIN, {"phone": "13800001234", "code": wrong}))["loginWithCode"]["__typename"]
        for _ in range(5)
    ]
    right = (await gql.data(LOGIN, {"phone": "13800001234", "code": code}))["loginWithCode"]

    assert answers == ["InvalidCodeError"] * 5
    assert right["__typename"] == "TooManyCodeAttemptsError"


async def test_concurrent_guesses_never_exceed_five_attempts(gql: GraphQLClient) -> None:
    await gql.data(SEND, {"phone": "13800004321"})
    code = await texted_code("13800004321")
    guesses = [f"{n:06d}" for n in range(20) if f"{n:06d}" != code][:12]

    answers = await asyncio.gather(*(gql.data(LOGIN, {"phone": "13800004321", "code": g}) for g in guesses))

    kinds = Counter(a["loginWithCode"]["__typename"] for a in answers)
    assert kinds == {"InvalidCodeError": 5, "TooManyCodeAttemptsError": 7}
    row = await VerificationCode.get(phone="13800004321")
    assert row.attempts == 5


async def test_an_expired_code_is_refused(gql: GraphQLClient) -> None:
    await gql.data(SEND, {"phone": "13800008888"})
    code = await texted_code("13800008888")
    await VerificationCode.filter(phone="13800008888").update(expires_at=utcnow() - timedelta(seconds=1))

    login = (await gql.data(LOGIN, {"phone": "13800008888", "code": code}))["loginWithCode"]

    assert login == {
        "__typename": "InvalidCodeError",
        "message": "the code is wrong or has expired; request a new one",
    }


async def test_a_disabled_account_cannot_log_in_with_a_code(gql: GraphQLClient) -> None:
    user = await factories.patient_user(disabled=True)
    await gql.data(SEND, {"phone": user.account.phone})
    login = await gql.data(
        LOGIN, {"phone": user.account.phone, "code": await texted_code(user.account.phone)}
    )
    assert login["loginWithCode"]["__typename"] == "AccountDisabledError"


async def test_malformed_input_names_the_field(gql: GraphQLClient) -> None:
    bad_phone = (await gql.data(SEND, {"phone": "12345"}))["sendLoginCode"]
    bad_code = (await gql.data(LOGIN, {"phone": "13800001111", "code": "12ab56"}))["loginWithCode"]
    assert bad_phone["__typename"] == bad_code["__typename"] == "InvalidInputError"
    assert bad_code["message"] == "a login code has 6 digits"


async def test_a_burst_of_codes_for_one_phone_sends_one(gql: GraphQLClient) -> None:
    answers = await asyncio.gather(*(gql.data(SEND, {"phone": "13800007777"}) for _ in range(20)))

    kinds = Counter(a["sendLoginCode"]["__typename"] for a in answers)
    assert kinds == {"LoginCodeSent": 1, "RateLimitedError": 19}
    limits = {
        a["sendLoginCode"]["limit"] for a in answers if a["sendLoginCode"]["__typename"] == "RateLimitedError"
    }
    assert limits == {"phone-minute"}
    assert await SmsMessage.filter(phone="13800007777").count() == 1


async def test_a_phone_gets_at_most_five_codes_an_hour(gql: GraphQLClient) -> None:
    answers = []
    for _ in range(6):
        answers.append((await gql.data(SEND, {"phone": "13800006666"}))["sendLoginCode"])
        # A minute passes between requests: the per-minute slot frees, the hourly ones do not.
        await RateLimitSlot.filter(key="phone-minute:13800006666").update(
            free_at=utcnow() - timedelta(seconds=1)
        )

    assert [a["__typename"] for a in answers] == ["LoginCodeSent"] * 5 + ["RateLimitedError"]
    assert answers[5]["limit"] == "phone-hour"
    assert 3500 <= answers[5]["retryAfterSeconds"] <= 3600


async def test_a_burst_from_one_address_is_held_to_the_per_ip_limit(gql: GraphQLClient) -> None:
    phones = [f"1370000{n:04d}" for n in range(40)]

    answers = await asyncio.gather(*(gql.data(SEND, {"phone": p}) for p in phones))

    kinds = Counter(a["sendLoginCode"]["__typename"] for a in answers)
    assert kinds == {"LoginCodeSent": 30, "RateLimitedError": 10}
    assert await SmsMessage.filter(event="verification.code").count() == 30
    # A refusal by the address gave back the phone's slots: those phones may try again later.
    refused = [
        p for p, a in zip(phones, answers, strict=True) if a["sendLoginCode"]["__typename"] != "LoginCodeSent"
    ]

    assert await RateLimitSlot.filter(key=f"phone-minute:{refused[0]}", free_at__gt=utcnow()).count() == 0


async def test_aliases_cannot_multiply_code_requests_in_one_operation(gql: GraphQLClient) -> None:
    flood = """
    mutation {
      a: sendLoginCode(phone: "13800003333") { __typename }
      b: sendLoginCode(phone: "13800003334") { __typename }
      ...more
    }
    fragment more on Mutation { c: loginWithCode(phone: "13800003333", code: "123456") { __typename } }
    """
    data = await gql.data(flood)

    assert data == {
        "a": {"__typename": "OneCodeRequestPerOperationError"},
        "b": {"__typename": "OneCodeRequestPerOperationError"},
        "c": {"__typename": "OneCodeRequestPerOperationError"},
    }
    assert await SmsMessage.all().count() == 0
    assert await VerificationCode.all().count() == 0
