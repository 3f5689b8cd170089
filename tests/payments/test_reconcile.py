"""`payments reconcile`: local orders and refunds against each provider's bill for a day."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

from gualema.settings import Settings
from integrations.payments.sandbox.ledger import SandboxTrade
from models.payments import PaymentOrder, PaymentProvider, PaymentStatus
from resolvers.payments import reconcile
from tests import factories
from tests.fixtures.api import REPOSITORY, GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import OPENID, cancel_booking, pay_booking, run_payment_work, the_order


def today(settings: Settings) -> datetime:
    return datetime.now(UTC).astimezone(settings.tz)


async def test_a_day_that_matches_has_no_mismatches(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    paid_and_refunded = await factories.held_booking(fee=1500)
    paid = await factories.held_booking(fee=900)
    by_alipay = await factories.held_booking(fee=700)
    number = (await pay_booking(gql, paid_and_refunded, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    await providers.wechat.notify_paid(number)
    await cancel_booking(paid_and_refunded.booking)
    await run_payment_work(settings)
    url = (await pay_booking(gql, paid))["payPageUrl"]
    await gql.http.post(url.split(settings.public_base_url, 1)[1] + "/pay")
    await providers.alipay.notify_paid((await pay_booking(gql, by_alipay, "ALIPAY"))["orderString"])

    mismatches = await reconcile(settings, today(settings).date())

    assert mismatches == []
    assert (await the_order(paid_and_refunded.booking)).status is PaymentStatus.REFUNDED


async def test_every_mismatch_is_reported(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    unknown_here = await factories.held_booking(fee=1500)
    wrong_amount = await factories.held_booking(fee=900)
    # The provider took money for an order whose notification never reached us.
    number = (await pay_booking(gql, unknown_here, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    providers.wechat.pay(number)
    # The provider's ledger says 8.00 where we recorded 9.00.
    other = (await pay_booking(gql, wrong_amount, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    await providers.wechat.notify_paid(other)
    providers.wechat.orders[other].amount = 800
    # We think the sandbox was paid; its ledger has no such payment.
    ghost = await factories.held_booking(fee=500)
    await PaymentOrder.create(
        booking_id=ghost.booking.id,
        account_id=ghost.owner.id,
        provider=PaymentProvider.SANDBOX,
        out_trade_no="GHOST",
        amount=500,
        status=PaymentStatus.PAID,
        paid_amount=500,
        paid_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )

    mismatches = await reconcile(settings, today(settings).date(), ["wechat_pay", "sandbox"])

    assert sorted(str(m) for m in mismatches) == sorted(
        [
            f"wechat_pay payment {number}: local created, not paid that day, provider paid 1500",
            f"wechat_pay payment {other}: local paid 900, provider paid 800",
            "sandbox payment GHOST: local paid 500, provider missing",
        ]
    )


async def test_the_command_exits_non_zero_on_a_mismatch(settings: Settings) -> None:
    day = today(settings)
    await SandboxTrade.create(
        out_trade_no="STRAY", amount=100, status="SUCCESS", trade_no="SBX1", paid_at=day
    )

    async def run(date_text: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gualema",
            "payments",
            "reconcile",
            "--date",
            date_text,
            "--provider",
            "sandbox",
            cwd=REPOSITORY,
            env=os.environ.copy(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    bad = await run(day.date().isoformat())
    good = await run("2020-01-01")

    assert bad == (1, "sandbox payment STRAY: local unknown order, provider paid 100\n")
    assert good == (0, "")
