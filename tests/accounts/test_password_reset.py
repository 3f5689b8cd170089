"""Password reset by a texted code: an administrator's resetAccountPassword, the holder's
requestPasswordReset (forgot password), and completePasswordReset."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from gualema.session_watch import TOKEN_REVOKED
from gualema.settings import Settings
from models.accounts import Account
from models.audit import AuditEntry
from models.clock import utcnow
from models.notifications import SmsMessage
from models.verification_codes import VerificationCode
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.http.test_subscription_sessions import MY_WAITLIST, closed_with

ADMIN_RESET = """
mutation($id: ID!, $reason: String!) {
  resetAccountPassword(accountId: $id, reason: $reason) {
    __typename
    ... on PasswordResetCodeSent { phone expiresAt }
    ... on Error { code message }
  }
}"""
FORGOT = """
mutation($phone: String!) {
  requestPasswordReset(phone: $phone) {
    __typename
    ... on PasswordResetCodeSent { phone expiresAt }
    ... on RateLimitedError { limit }
    ... on Error { code message }
  }
}"""
COMPLETE = """
mutation($phone: String!, $code: String!, $password: String!) {
  completePasswordReset(phone: $phone, code: $code, newPassword: $password) {
    __typename
    ... on PasswordResetCompleted { phone }
    ... on Error { code message }
  }
}"""
LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) {
    __typename ... on AuthPayload { accessToken refreshToken }
  }
}"""
REFRESH = "mutation($token: String!) { refreshToken(token: $token) { __typename } }"
NEW_PASSWORD = "new-Secret-2026"


async def texted_reset_code(phone: str) -> str:
    message = await SmsMessage.filter(phone=phone, event="password.reset_code").order_by("-id").first()
    assert message is not None
    return str(message.params["code"])


async def complete(gql: GraphQLClient, phone: str, code: str, password: str = NEW_PASSWORD) -> dict[str, str]:
    answer = await gql.data(COMPLETE, {"phone": phone, "code": code, "password": password})
    result: dict[str, str] = answer["completePasswordReset"]
    return result


async def test_forgot_password_sets_a_new_one_and_ends_every_login(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    old = {"phone": phone, "password": factories.PASSWORD}
    session = (await gql.data(LOGIN, old))["login"]

    sent = (await gql.data(FORGOT, {"phone": phone}))["requestPasswordReset"]
    done = await complete(gql, phone, await texted_reset_code(phone))

    assert sent["__typename"] == "PasswordResetCodeSent"
    assert done == {"__typename": "PasswordResetCompleted", "phone": sent["phone"]}
    assert (await gql.data(LOGIN, old))["login"]["__typename"] == "InvalidCredentialsError"
    assert (await gql.data(LOGIN, {"phone": phone, "password": NEW_PASSWORD}))["login"]["__typename"] == (
        "AuthPayload"
    )
    # The login from before the reset is over: its refresh token and its access token are refused.
    assert (await gql.data(REFRESH, {"token": session["refreshToken"]}))["refreshToken"] == {
        "__typename": "InvalidRefreshTokenError"
    }
    assert (await gql.as_(session["accessToken"]).post("{ me { id } }")).status_code == 401
    assert (await gql.as_(user.token).post("{ me { id } }")).status_code == 401
    entries = await AuditEntry.filter(target_id=str(user.id)).values_list("actor_id", "action")
    assert entries == [(user.id, "account.password_reset")]


async def test_a_reset_code_works_once(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    await gql.data(FORGOT, {"phone": phone})
    code = await texted_reset_code(phone)

    first = await complete(gql, phone, code)
    again = await complete(gql, phone, code, password="another-Secret-1")

    assert first["__typename"] == "PasswordResetCompleted"
    assert again["__typename"] == "InvalidCodeError"
    assert again["code"] == "INVALID_CODE"
    login = await gql.data(LOGIN, {"phone": phone, "password": NEW_PASSWORD})
    assert login["login"]["__typename"] == "AuthPayload"


async def test_an_expired_reset_code_is_refused_and_the_password_stays(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    await gql.data(FORGOT, {"phone": phone})
    code = await texted_reset_code(phone)
    await VerificationCode.filter(phone=phone).update(expires_at=utcnow() - timedelta(seconds=1))

    answer = await complete(gql, phone, code)

    assert answer["__typename"] == "InvalidCodeError"
    login = await gql.data(LOGIN, {"phone": phone, "password": factories.PASSWORD})
    assert login["login"]["__typename"] == "AuthPayload"


async def test_five_wrong_codes_spend_the_reset_code(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    await gql.data(FORGOT, {"phone": phone})
    code = await texted_reset_code(phone)
    wrong = "000000" if code != "000000" else "111111"

    answers = [(await complete(gql, phone, wrong))["__typename"] for _ in range(5)]
    right = await complete(gql, phone, code)

    assert answers == ["InvalidCodeError"] * 5
    assert right == {
        "__typename": "TooManyCodeAttemptsError",
        "code": "TOO_MANY_CODE_ATTEMPTS",
        "message": "too many wrong codes; request a new one",
    }


async def test_a_weak_new_password_does_not_spend_the_code(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    await gql.data(FORGOT, {"phone": phone})
    code = await texted_reset_code(phone)

    weak = await complete(gql, phone, code, password="123")
    strong = await complete(gql, phone, code)

    assert weak["__typename"] == "InvalidInputError"
    assert strong["__typename"] == "PasswordResetCompleted"


async def test_a_login_code_does_not_reset_a_password(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    await gql.data("mutation($p: String!) { sendLoginCode(phone: $p) { __typename } }", {"p": phone})
    login_code = (await SmsMessage.filter(phone=phone, event="verification.code").get()).params["code"]

    answer = await complete(gql, phone, str(login_code))

    assert answer["__typename"] == "InvalidCodeError"


async def test_forgot_password_answers_alike_for_a_phone_without_an_account(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    stranger = factories.unique_phone()

    known = (await gql.data(FORGOT, {"phone": user.account.phone}))["requestPasswordReset"]
    unknown = (await gql.data(FORGOT, {"phone": stranger}))["requestPasswordReset"]

    assert known["__typename"] == unknown["__typename"] == "PasswordResetCodeSent"
    assert set(known) == set(unknown) == {"__typename", "phone", "expiresAt"}
    assert await SmsMessage.filter(phone=stranger).count() == 0  # nobody is texted
    assert await VerificationCode.filter(phone=stranger).count() == 0
    # … but the stranger's phone spent its limits like any other: a second request is refused alike.
    again_known = (await gql.data(FORGOT, {"phone": user.account.phone}))["requestPasswordReset"]
    again_unknown = (await gql.data(FORGOT, {"phone": stranger}))["requestPasswordReset"]
    assert again_known == again_unknown
    assert (again_known["__typename"], again_known["limit"]) == ("RateLimitedError", "phone-minute")


async def test_forgot_password_is_limited_per_address_like_login_codes(
    gql: GraphQLClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "sms_ip_limit_per_hour", 3)
    phones = [factories.unique_phone() for _ in range(5)]

    answers = [(await gql.data(FORGOT, {"phone": p}))["requestPasswordReset"]["__typename"] for p in phones]

    assert answers == ["PasswordResetCodeSent"] * 3 + ["RateLimitedError"] * 2


async def test_an_administrator_texts_a_reset_code_to_the_accounts_own_phone(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    user = await factories.patient_user()

    sent = await gql.as_(admin.token).data(ADMIN_RESET, {"id": str(user.id), "reason": "用户来电，忘记密码"})
    done = await complete(gql, user.account.phone, await texted_reset_code(user.account.phone))

    assert sent["resetAccountPassword"]["__typename"] == "PasswordResetCodeSent"
    assert done["__typename"] == "PasswordResetCompleted"
    entries = (
        await AuditEntry.filter(target_id=str(user.id))
        .order_by("id")
        .values_list("actor_id", "action", "reason")
    )
    assert entries == [
        (admin.id, "account.password_reset_sent", "用户来电，忘记密码"),
        (user.id, "account.password_reset", ""),
    ]
    # Only the account's phone was texted, and the admin never sees the code.
    assert await SmsMessage.filter(event="password.reset_code").values_list("phone", flat=True) == [
        user.account.phone
    ]
    assert "code" not in str(sent)


async def test_only_an_administrator_may_reset_another_accounts_password(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    other = await factories.patient_user()
    admin = await factories.admin_user()

    body = await gql.as_(patient.token)(ADMIN_RESET, {"id": str(other.id), "reason": ""})
    missing = await gql.as_(admin.token).data(ADMIN_RESET, {"id": "99999", "reason": ""})

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert missing["resetAccountPassword"]["__typename"] == "NotFoundError"
    assert await SmsMessage.filter(event="password.reset_code").count() == 0


async def test_concurrent_completions_with_the_right_code_reset_once(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    await gql.data(FORGOT, {"phone": phone})
    code = await texted_reset_code(phone)

    answers = await asyncio.gather(*(complete(gql, phone, code, f"racing-Secret-{n}") for n in range(4)))

    assert sorted(a["__typename"] for a in answers) == ["InvalidCodeError"] * 3 + ["PasswordResetCompleted"]
    assert await AuditEntry.filter(action="account.password_reset").count() == 1
    assert (await Account.get(id=user.id)).password_hash is not None


async def test_a_reset_ends_open_subscriptions(
    gql: GraphQLClient, live_server: LiveServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live server shares this settings object: check revocations often, so the scenario ends fast.
    monkeypatch.setattr(settings, "ws_session_check_seconds", 0.1)
    monkeypatch.setattr(settings, "revocation_refresh_seconds", 0.1)
    user = await factories.patient_user()
    async with graphql_socket(live_server.ws_url, user.token) as socket:
        waitlist = await socket.subscribe(MY_WAITLIST)
        assert await socket.next_data(waitlist, "myWaitlist") == []  # live

        await gql.data(FORGOT, {"phone": user.account.phone})
        await complete(gql, user.account.phone, await texted_reset_code(user.account.phone))

        assert await closed_with(socket) == TOKEN_REVOKED
