"""Two server processes receive the same notification fifteen times at once: one change, one confirmation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from gualema.settings import Settings
from models.booking import BookingEvent, BookingStatus
from models.notifications import Notification
from models.payments import PaymentStatus
from tests import factories
from tests.conftest import DATABASE_URL
from tests.fixtures.api import GraphQLClient, ServerProcess
from tests.payments.fakes import Providers
from tests.payments.operations import OPENID, pay_booking, status_changes, the_order


def provider_environment(settings: Settings) -> dict[str, str]:
    assert settings.wechat_pay_private_key is not None
    assert settings.wechat_pay_apiv3_key is not None
    return {
        "GUALEMA_WECHAT_PAY_MCHID": settings.wechat_pay_mchid,
        "GUALEMA_WECHAT_PAY_APPID": settings.wechat_pay_appid,
        "GUALEMA_WECHAT_PAY_MERCHANT_SERIAL": settings.wechat_pay_merchant_serial,
        "GUALEMA_WECHAT_PAY_PRIVATE_KEY": settings.wechat_pay_private_key.get_secret_value(),
        "GUALEMA_WECHAT_PAY_APIV3_KEY": settings.wechat_pay_apiv3_key.get_secret_value(),
        "GUALEMA_WECHAT_PAY_PLATFORM_PUBLIC_KEYS": json.dumps(settings.wechat_pay_platform_public_keys),
        "GUALEMA_WECHAT_PAY_BASE_URL": settings.wechat_pay_base_url,
    }


@pytest.mark.skipif(DATABASE_URL.startswith("sqlite"), reason="several processes need a database server")
async def test_concurrent_deliveries_to_two_processes_confirm_once(
    gql: GraphQLClient,
    providers: Providers,
    settings: Settings,
    server_processes: Callable[..., ServerProcess],
) -> None:
    environment = provider_environment(settings)
    servers = await asyncio.gather(
        *(asyncio.to_thread(server_processes, extra_env=environment) for _ in range(2))
    )
    held = await factories.held_booking(fee=1500)
    number = (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    fake = providers.wechat
    fake.pay(number)

    replies = await asyncio.gather(
        *(
            fake.deliver(f"{servers[i % 2].url}/payments/notify/wechat", fake.payment_notification(number))
            for i in range(15)
        )
    )

    assert [r.status_code for r in replies] == [204] * 15
    order = await the_order(held.booking)
    assert order.status is PaymentStatus.PAID
    assert await status_changes(order) == [("created", "paid")]
    assert (
        await BookingEvent.filter(booking_id=held.booking.id, to_status=BookingStatus.CONFIRMED).count() == 1
    )
    assert await Notification.filter(booking_id=held.booking.id).values_list("event", flat=True) == [
        "booking.confirmed"
    ]
