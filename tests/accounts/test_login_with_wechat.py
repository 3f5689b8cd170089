"""loginWithWechat: the mini-program's code finds or (with the shared phone) creates the account;
an account that already has the phone is linked, not duplicated; WeChat's refusals are union members."""

from __future__ import annotations

from typing import Any

from integrations.wechat.errors import RATE_LIMITED, SYSTEM_BUSY
from integrations.wechat.fake import FakeWeChat
from models.accounts import Account
from models.wechat import WechatIdentity
from tests import factories
from tests.fixtures.api import GraphQLClient

LOGIN_WITH_WECHAT = """
mutation($code: String!, $phoneCode: String) {
  loginWithWechat(code: $code, phoneCode: $phoneCode) {
    __typename
    ... on AuthPayload { accessToken refreshToken account { id name phone role } }
    ... on Error { message }
  }
}"""

ME = "{ me { id phone } }"
OPENID = "oGZUI0egBJY1zhBYw2KhdUfwVJJE"


async def login(gql: GraphQLClient, code: str, phone_code: str | None = None) -> dict[str, Any]:
    body = await gql(LOGIN_WITH_WECHAT, {"code": code, "phoneCode": phone_code})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["loginWithWechat"]
    return result


async def test_a_first_login_asks_for_the_phone_then_creates_the_account(
    gql: GraphQLClient, wechat: FakeWeChat
) -> None:
    asked = await login(gql, wechat.login_code(OPENID))
    created = await login(gql, wechat.login_code(OPENID), wechat.phone_code("13612345678"))
    again = await login(gql, wechat.login_code(OPENID))  # no phone needed any more

    assert asked["__typename"] == "WechatPhoneRequiredError"
    assert asked["message"].startswith("首次微信登录需授权手机号")
    assert created["__typename"] == "AuthPayload"
    assert created["account"]["phone"] == "136****5678"
    assert created["account"]["role"] == "PATIENT"
    assert again["account"]["id"] == created["account"]["id"]
    me = await gql.as_(again["accessToken"]).data(ME)
    assert me["me"]["id"] == created["account"]["id"]
    assert await Account.filter(phone="13612345678").count() == 1


async def test_an_account_that_has_the_phone_is_linked_not_duplicated(
    gql: GraphQLClient, wechat: FakeWeChat
) -> None:
    existing = await factories.patient_user(phone="13512345678")

    result = await login(gql, wechat.login_code(OPENID, unionid="oUNION_1"), wechat.phone_code("13512345678"))

    assert result["account"]["id"] == str(existing.id)
    assert await Account.all().count() == 1
    identity = await WechatIdentity.get(openid=OPENID)
    assert (identity.account_id, identity.unionid) == (existing.id, "oUNION_1")  # type: ignore[attr-defined]


async def test_the_unionid_is_kept_when_it_appears_later(gql: GraphQLClient, wechat: FakeWeChat) -> None:
    await login(gql, wechat.login_code(OPENID), wechat.phone_code("13512340000"))

    await login(gql, wechat.login_code(OPENID, unionid="oUNION_2"))

    assert (await WechatIdentity.get(openid=OPENID)).unionid == "oUNION_2"


async def test_a_used_or_unknown_code_asks_the_client_for_a_new_one(
    gql: GraphQLClient, wechat: FakeWeChat
) -> None:
    code = wechat.login_code(OPENID)
    await login(gql, code)

    used = await login(gql, code)
    unknown = await login(gql, "0a3Xkl000mS2xR1Lmb200uRrKx0Xkl0Y")
    bad_phone_code = await login(gql, wechat.login_code(OPENID), "not-a-phone-code")

    assert (
        used["__typename"]
        == unknown["__typename"]
        == bad_phone_code["__typename"]
        == "WechatCodeRejectedError"
    )
    assert await Account.all().count() == 0


async def test_rate_limits_and_busy_answers_say_try_again(gql: GraphQLClient, wechat: FakeWeChat) -> None:
    wechat.fail_next("jscode2session", RATE_LIMITED, SYSTEM_BUSY)

    limited = await login(gql, wechat.login_code(OPENID))
    busy = await login(gql, wechat.login_code(OPENID))

    assert limited["__typename"] == busy["__typename"] == "WechatUnavailableError"
    assert limited["message"].startswith("微信服务繁忙")


async def test_the_session_key_never_leaves_the_server(gql: GraphQLClient, wechat: FakeWeChat) -> None:
    response = await gql.post(
        LOGIN_WITH_WECHAT, {"code": wechat.login_code(OPENID), "phoneCode": wechat.phone_code("13612349999")}
    )

    [session_key] = wechat.session_keys
    assert response.json()["data"]["loginWithWechat"]["__typename"] == "AuthPayload"
    assert session_key not in response.text
    assert "session" not in response.text.lower()


async def test_a_disabled_account_cannot_log_in_through_wechat(
    gql: GraphQLClient, wechat: FakeWeChat
) -> None:
    await factories.patient_user(phone="13512345000", disabled=True)

    result = await login(gql, wechat.login_code(OPENID), wechat.phone_code("13512345000"))

    assert result["__typename"] == "AccountDisabledError"
    assert await WechatIdentity.all().count() == 0


BIND_PHONE = """
mutation($phoneCode: String!) {
  bindWechatPhone(phoneCode: $phoneCode) {
    __typename
    ... on Account { id phone }
    ... on Error { message }
  }
}"""


async def test_a_logged_in_user_binds_the_phone_wechat_vouches_for(
    gql: GraphQLClient, wechat: FakeWeChat
) -> None:
    user = await factories.patient_user(phone="13500001111")

    data = await gql.as_(user.token).data(BIND_PHONE, {"phoneCode": wechat.phone_code("13600002222")})

    assert data["bindWechatPhone"] == {"__typename": "Account", "id": str(user.id), "phone": "136****2222"}
    assert (await Account.get(id=user.id)).phone == "13600002222"


async def test_binding_another_accounts_phone_is_refused(gql: GraphQLClient, wechat: FakeWeChat) -> None:
    user = await factories.patient_user(phone="13500001111")
    await factories.patient_user(phone="13600002222")

    data = await gql.as_(user.token).data(BIND_PHONE, {"phoneCode": wechat.phone_code("13600002222")})

    assert data["bindWechatPhone"]["__typename"] == "PhoneTakenError"
    assert (await Account.get(id=user.id)).phone == "13500001111"
