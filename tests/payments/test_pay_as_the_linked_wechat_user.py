"""payBooking(…, WECHAT_PAY) pays as the account's linked WeChat user: the client passes no openid."""

from __future__ import annotations

from integrations.wechat.fake import FakeWeChat
from models.accounts import Account
from tests import factories
from tests.accounts.test_login_with_wechat import OPENID, login
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import pay_booking, the_order


async def test_wechat_pay_uses_the_openid_of_the_wechat_login(
    gql: GraphQLClient, wechat: FakeWeChat, providers: Providers
) -> None:
    session = await login(gql, wechat.login_code(OPENID), wechat.phone_code("13612345678"))
    account = await Account.get(id=int(session["account"]["id"]))
    held = await factories.held_booking(factories.Actor(account, session["accessToken"]), fee=2000)

    result = await pay_booking(gql, held, "WECHAT_PAY")

    order = await the_order(held.booking)
    assert result["__typename"] == "WeChatPayment"
    assert providers.wechat.orders[order.out_trade_no].openid == OPENID
    assert order.payer_openid == OPENID
