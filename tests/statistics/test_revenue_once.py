"""Revenue is counted in the transaction of the payment's own change, once, however many duplicate
notifications arrive at once and at however many processes (docs/decisions/250)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from gualema.settings import Settings
from models.payments import PaymentStatus, Refund, RefundStatus
from models.statistics import recompute
from models.statistics.metrics import Metric
from models.statistics.tables import DailyFigure, DailyPayer
from tests import factories
from tests.conftest import DATABASE_URL
from tests.fixtures.api import GraphQLClient, ServerProcess
from tests.payments.fakes import Providers
from tests.payments.operations import OPENID, cancel_booking, pay_booking, run_payment_work, the_order
from tests.payments.test_across_processes import provider_environment


async def counted(metric: Metric, department_id: int) -> int:
    rows = await DailyFigure.filter(metric=metric.value, department_id=department_id).values_list(
        "value", flat=True
    )
    return sum(int(value) for value in rows)  # type: ignore[call-overload]


@pytest.mark.skipif(DATABASE_URL.startswith("sqlite"), reason="several processes need a database server")
async def test_duplicate_notifications_at_two_processes_count_the_fee_and_its_refund_once(
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
    department_id = held.booking.department_id
    number = (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    fake = providers.wechat
    fake.pay(number)

    # Given fifteen deliveries of one payment at once, split over two server processes,
    paid = await asyncio.gather(
        *(
            fake.deliver(f"{servers[i % 2].url}/payments/notify/wechat", fake.payment_notification(number))
            for i in range(15)
        )
    )
    # then the booking is cancelled, refunded (the provider says PROCESSING), and the refund's
    # success is announced fifteen times at once as well.
    fake.refunds_succeed_at_once = False
    await cancel_booking(held.booking)
    await run_payment_work(settings)
    refund = await Refund.get(order_id=(await the_order(held.booking)).id)
    fake.refunds[refund.out_refund_no].status = "SUCCESS"
    refunded = await asyncio.gather(
        *(
            fake.deliver(
                f"{servers[i % 2].url}/payments/notify/wechat", fake.refund_notification(refund.out_refund_no)
            )
            for i in range(15)
        )
    )

    assert [r.status_code for r in paid + refunded] == [204] * 30
    assert (await the_order(held.booking)).status is PaymentStatus.REFUNDED
    assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED
    # Then the fee was counted once, its refund once, and the payer once.
    assert await counted(Metric.REVENUE_PAID, department_id) == 1500
    assert await counted(Metric.REVENUE_REFUNDED, department_id) == 1500
    assert await DailyPayer.filter(account_id=held.booking.account_id).count() == 1


async def test_revenue_and_payers_recomputed_from_the_payment_tables_equal_the_rollup(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await factories.held_booking(fee=800)
    number = (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    # The same news three times in one process, concurrently.
    providers.wechat.pay(number)
    body = providers.wechat.payment_notification(number)
    url = providers.wechat.orders[number].notify_url
    replies = await asyncio.gather(*(providers.wechat.deliver(url, body) for _ in range(3)))

    assert [r.status_code for r in replies] == [204] * 3
    assert await counted(Metric.REVENUE_PAID, held.booking.department_id) == 800
    mine = {held.booking.account_id}
    rolled = {(day, who) for day, who in await recompute.payers_from_rollup() if who in mine}
    raw = {(day, who) for day, who in await recompute.payers_from_raw_records(settings.tz) if who in mine}
    assert rolled == raw
    assert len(raw) == 1
