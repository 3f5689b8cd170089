"""Prepaid waitlist (issue 6 point 2): the fee is paid on joining, a freed seat is booked at once,
and a fee that bought no seat is refunded exactly once (docs/decisions/090-094)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from gualema.database import dialect
from gualema.settings import Settings
from integrations.payments.sandbox.ledger import SandboxRefund, SandboxTrade
from models.booking import Booking, BookingStatus
from models.clock import utcnow
from models.errors import InvalidTransition
from models.jobs import Job
from models.notifications import Notification
from models.payments import PaymentOrder, PaymentStatus, Refund, RefundStatus
from models.reactions import move_entry
from models.scheduling import Slot
from models.waitlist import WaitlistEntry, WaitlistStatus, entries, lifecycle
from resolvers import payments as payment_use_cases
from resolvers.waitlist import run_waitlist
from tests import factories
from tests.booking.operations import book
from tests.fixtures.api import GraphQLClient, ServerProcess
from tests.payments.fakes import Providers, fresh_ledgers, providers
from tests.payments.operations import OPENID
from tests.waitlist.scenario import LEAVE, Person, active_bookings, cancel, drain, full_session, join, person

PAY_ENTRY = """
mutation($id: ID!, $provider: PaymentProvider) {
  payWaitlistEntry(entryId: $id, provider: $provider) {
    __typename
    ... on SandboxPayment { payPageUrl order { id outTradeNo amount status waitlistEntryId bookingId } }
    ... on Error { message }
  }
}"""

PAY_ENTRY_WECHAT = """
mutation($id: ID!, $openId: String) {
  payWaitlistEntry(entryId: $id, provider: WECHAT_PAY, wechatOpenId: $openId) {
    __typename ... on WeChatPayment { paySign order { outTradeNo amount } } ... on Error { message }
  }
}"""

MY_WAITLIST = """
query { myWaitlist { id status position feeDue feePaid paymentExpiresAt } }
"""

W = WaitlistStatus
__all__ = ["fresh_ledgers", "providers"]  # the fake WeChat Pay / Alipay servers, as in tests/payments


@pytest.fixture(autouse=True)
def prepaid(settings: Settings) -> Iterator[None]:
    # The hospital's mode is read at every join: switch it for these scenarios only.
    previous = settings.waitlist_mode
    settings.waitlist_mode = "prepaid"
    yield
    settings.waitlist_mode = previous


async def pay_entry(gql: GraphQLClient, who: Person, entry_id: int | str) -> dict[str, Any]:
    data = await gql.as_(who.actor.token).data(PAY_ENTRY, {"id": str(entry_id), "provider": "SANDBOX"})
    result: dict[str, Any] = data["payWaitlistEntry"]
    return result


async def press_pay(gql: GraphQLClient, pay_page_url: str) -> None:
    """The payer presses "pay" on the sandbox page; its notification goes through the real path."""
    path = pay_page_url.split("://", 1)[1].split("/", 1)[1]
    assert (await gql.http.post(f"/{path}/pay", follow_redirects=True)).status_code == 200


async def join_and_pay(gql: GraphQLClient, who: Person, schedule_id: int) -> int:
    joined = await join(gql, who, scheduleId=str(schedule_id))
    assert joined["status"] == "AWAITING_PAYMENT", joined
    payment = await pay_entry(gql, who, joined["id"])
    await press_pay(gql, payment["payPageUrl"])
    return int(joined["id"])


async def paid_full_session(
    gql: GraphQLClient, seats: int, fee: int = 1500
) -> tuple[Any, list[Person], list[int]]:
    schedule, holders, booking_ids = await full_session(gql, seats=seats, fee=fee)
    # The holders paid too: their holds must not lapse in these stories.
    await Booking.filter(id__in=booking_ids).update(status=BookingStatus.CONFIRMED, expires_at=None)
    return schedule, holders, booking_ids


async def run_payment_work(settings: Settings, workers: int = 2) -> None:
    """Payments' periodic round (refund and close jobs) in `workers` concurrent workers, twice."""
    for _ in range(2):
        await asyncio.gather(*(payment_use_cases.work(settings) for _ in range(workers)))


async def events(account_id: int) -> list[str]:
    rows = await Notification.filter(account_id=account_id).order_by("id").values_list("event", flat=True)
    return [str(event) for event in rows]


async def test_the_fee_is_paid_on_joining_and_the_line_is_in_payment_order(gql: GraphQLClient) -> None:
    schedule, _, _ = await paid_full_session(gql, seats=1)
    early, late = await person("先加入"), await person("先付款")

    joined_early = await join(gql, early, scheduleId=str(schedule.id))
    joined_late = await join(gql, late, scheduleId=str(schedule.id))

    assert (joined_early["status"], joined_early["position"]) == ("AWAITING_PAYMENT", 0)
    assert (joined_late["status"], joined_late["position"]) == ("AWAITING_PAYMENT", 0)
    # Ten concurrent payWaitlistEntry calls share one order.
    payments = await asyncio.gather(*(pay_entry(gql, late, joined_late["id"]) for _ in range(10)))
    assert {p["__typename"] for p in payments} == {"SandboxPayment"}
    assert len({p["order"]["outTradeNo"] for p in payments}) == 1
    assert payments[0]["order"]["amount"] == 1500
    assert payments[0]["order"]["waitlistEntryId"] == joined_late["id"]
    assert payments[0]["order"]["bookingId"] is None

    await press_pay(gql, payments[0]["payPageUrl"])
    await press_pay(gql, payments[0]["payPageUrl"])  # a replayed notification changes nothing
    await press_pay(gql, (await pay_entry(gql, early, joined_early["id"]))["payPageUrl"])

    mine = (await gql.as_(late.actor.token).data(MY_WAITLIST))["myWaitlist"]
    assert [(e["status"], e["position"], e["feeDue"], e["feePaid"], e["paymentExpiresAt"]) for e in mine] == [
        ("WAITING", 1, 1500, 1500, None)
    ]
    first_payer = await WaitlistEntry.get(id=int(joined_late["id"]))
    second_payer = await WaitlistEntry.get(id=int(joined_early["id"]))
    assert (second_payer.status, await entries.position(second_payer)) == (W.WAITING, 2)
    assert first_payer.joined_at < second_payer.joined_at
    assert await events(late.actor.account.id) == ["waitlist.joined"]
    assert await PaymentOrder.filter(waitlist_entry_id=first_payer.id, status=PaymentStatus.PAID).count() == 1
    assert await pay_entry(gql, late, joined_late["id"]) == {
        "__typename": "WaitlistEntryNotPayableError",
        "message": "this waitlist entry is not waiting for its fee",
    }


async def test_a_free_session_joins_the_line_at_once_and_is_booked_when_a_seat_frees(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, holders, booking_ids = await full_session(gql, seats=1, fee=0)
    waiter = await person()

    joined = await join(gql, waiter, scheduleId=str(schedule.id))
    assert (joined["status"], joined["position"]) == ("WAITING", 1)
    assert (await pay_entry(gql, waiter, joined["id"]))["__typename"] == "NothingToPayError"

    await cancel(gql, holders[0], booking_ids[0])
    await drain(settings)
    entry = await WaitlistEntry.get(id=int(joined["id"]))
    assert entry.status is W.BOOKED
    assert (await Booking.get(id=entry.booking_id)).status is BookingStatus.CONFIRMED


async def test_a_freed_seat_books_the_prepaid_waiter_once_and_a_later_cancel_refunds_once(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, holders, booking_ids = await paid_full_session(gql, seats=1)
    waiter, second = await person("候补一"), await person("候补二")
    entry_id = await join_and_pay(gql, waiter, schedule.id)
    second_id = await join_and_pay(gql, second, schedule.id)

    await cancel(gql, holders[0], booking_ids[0])
    await asyncio.gather(run_waitlist(settings), run_waitlist(settings))
    await drain(settings, workers=2)

    entry = await WaitlistEntry.get(id=entry_id)
    booking = await Booking.get(id=entry.booking_id)
    assert (entry.status, booking.status, booking.fee) == (W.BOOKED, BookingStatus.CONFIRMED, 1500)
    assert [b.patient_id for b in await active_bookings(schedule.id)] == [waiter.patient_id]
    assert (await WaitlistEntry.get(id=second_id)).status is W.WAITING
    assert (await Slot.get(schedule_id=schedule.id)).remaining == 0
    order = await PaymentOrder.get(waitlist_entry_id=entry_id)
    assert (order.status, order.booking_id) == (PaymentStatus.PAID, booking.id)
    assert await events(waiter.actor.account.id) == ["waitlist.joined", "waitlist.booked"]

    # Later the patient cancels the booked seat: the booking's own refund job returns the fee, once.
    assert (await cancel(gql, waiter, booking.id))["status"] == "CANCELLED"
    await drain(settings)  # the freed seat goes to the second waiter, who paid too
    await run_payment_work(settings)
    await asyncio.gather(*(run_waitlist(settings) for _ in range(2)))  # nothing for the waitlist to refund
    await run_payment_work(settings)

    refunds = await Refund.filter(order_id=order.id)
    assert [(r.amount, r.status) for r in refunds] == [(1500, RefundStatus.SUCCEEDED)]
    assert await SandboxRefund.filter(out_trade_no=order.out_trade_no).count() == 1
    assert (await PaymentOrder.get(id=order.id)).status is PaymentStatus.REFUNDED
    assert await Job.filter(kind="waitlist.refund").count() == 0
    assert (await events(waiter.actor.account.id))[-1] == "refund.completed"
    assert (await WaitlistEntry.get(id=second_id)).status is W.BOOKED
    second_order = await PaymentOrder.get(waitlist_entry_id=second_id)
    assert (second_order.status, second_order.booking_id) == (
        PaymentStatus.PAID,
        (await WaitlistEntry.get(id=second_id)).booking_id,
    )


async def test_a_prepaid_waiter_never_served_is_refunded_once_at_the_deadline(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, _, _ = await paid_full_session(gql, seats=1)
    waiter = await person()
    entry_id = await join_and_pay(gql, waiter, schedule.id)
    await WaitlistEntry.filter(id=entry_id).update(deadline=utcnow() - timedelta(minutes=1))

    await asyncio.gather(run_waitlist(settings), run_waitlist(settings), lifecycle.expire_due())
    await run_payment_work(settings, workers=3)
    await asyncio.gather(run_waitlist(settings), lifecycle.expire_due())
    await run_payment_work(settings)

    entry = await WaitlistEntry.get(id=entry_id)
    order = await PaymentOrder.get(waitlist_entry_id=entry_id)
    refunds = await Refund.filter(order_id=order.id)
    assert entry.status is W.EXPIRED
    assert (order.status, order.refunded_amount) == (PaymentStatus.REFUNDED, 1500)
    assert [(r.amount, r.status, r.reason) for r in refunds] == [
        (1500, RefundStatus.SUCCEEDED, "waitlist expired")
    ]
    assert await SandboxRefund.filter(out_trade_no=order.out_trade_no).count() == 1
    assert await events(waiter.actor.account.id) == [
        "waitlist.joined",
        "waitlist.expired",
        "refund.completed",
    ]


async def test_a_wechat_paid_waiter_expiring_is_refunded_once_at_wechat(
    gql: GraphQLClient, settings: Settings, providers: Providers
) -> None:
    schedule, _, _ = await paid_full_session(gql, seats=1, fee=2000)
    waiter = await person()
    joined = await join(gql, waiter, scheduleId=str(schedule.id))
    data = await gql.as_(waiter.actor.token).data(PAY_ENTRY_WECHAT, {"id": joined["id"], "openId": OPENID})
    number = data["payWaitlistEntry"]["order"]["outTradeNo"]
    replies = await asyncio.gather(*(providers.wechat.notify_paid(number) for _ in range(3)))
    assert [r.status_code for r in replies] == [204] * 3
    assert (await WaitlistEntry.get(id=int(joined["id"]))).status is W.WAITING

    await WaitlistEntry.filter(id=int(joined["id"])).update(deadline=utcnow() - timedelta(minutes=1))
    await asyncio.gather(run_waitlist(settings), run_waitlist(settings))
    await run_payment_work(settings)

    order = await PaymentOrder.get(out_trade_no=number)
    refund = await Refund.get(order_id=order.id)
    assert (order.status, refund.amount, refund.status) == (
        PaymentStatus.REFUNDED,
        2000,
        RefundStatus.SUCCEEDED,
    )
    assert list(providers.wechat.refunds) == [refund.out_refund_no]
    assert providers.wechat.refund_requests == 1


async def test_leaving_refunds_the_fee_once(gql: GraphQLClient, settings: Settings) -> None:
    schedule, _, _ = await paid_full_session(gql, seats=1)
    waiter = await person()
    entry_id = await join_and_pay(gql, waiter, schedule.id)

    left = await asyncio.gather(
        *(gql.as_(waiter.actor.token).data(LEAVE, {"id": str(entry_id)}) for _ in range(3))
    )
    await run_payment_work(settings, workers=3)

    assert {r["leaveWaitlist"]["status"] for r in left} == {"LEFT"}
    order = await PaymentOrder.get(waitlist_entry_id=entry_id)
    assert (order.status, order.refunded_amount) == (PaymentStatus.REFUNDED, 1500)
    assert [(r.amount, r.reason) for r in await Refund.filter(order_id=order.id)] == [
        (1500, "left the waitlist")
    ]
    assert await SandboxRefund.filter(out_trade_no=order.out_trade_no).count() == 1
    assert await events(waiter.actor.account.id) == ["waitlist.joined", "refund.completed"]


async def test_an_unpaid_entry_lapses_its_order_is_closed_and_a_late_payment_is_refunded(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, _, _ = await paid_full_session(gql, seats=1)
    lapsing, leaving = await person("未付"), await person("放弃")
    lapsing_entry = await join(gql, lapsing, scheduleId=str(schedule.id))
    leaving_entry = await join(gql, leaving, scheduleId=str(schedule.id))
    lapsing_payment = await pay_entry(gql, lapsing, lapsing_entry["id"])
    leaving_payment = await pay_entry(gql, leaving, leaving_entry["id"])
    await WaitlistEntry.filter(id=int(lapsing_entry["id"])).update(payment_expires_at=utcnow())

    await asyncio.gather(run_waitlist(settings), run_waitlist(settings))
    left = await gql.as_(leaving.actor.token).data(LEAVE, {"id": leaving_entry["id"]})
    # The payer presses "pay" on the lapsed entry's page before its order is closed.
    await press_pay(gql, lapsing_payment["payPageUrl"])
    await run_payment_work(settings)

    assert left["leaveWaitlist"]["status"] == "LEFT"
    lapsed = await WaitlistEntry.get(id=int(lapsing_entry["id"]))
    assert (lapsed.status, lapsed.fee_paid, lapsed.active_key) == (W.EXPIRED, 0, None)
    late = await PaymentOrder.get(out_trade_no=lapsing_payment["order"]["outTradeNo"])
    assert late.status is PaymentStatus.REFUNDED
    assert [r.reason for r in await Refund.filter(order_id=late.id)] == [
        "late payment: waitlist entry is expired"
    ]
    closed = await PaymentOrder.get(out_trade_no=leaving_payment["order"]["outTradeNo"])
    assert closed.status is PaymentStatus.CLOSED
    trade = await SandboxTrade.get(out_trade_no=closed.out_trade_no)
    assert trade.status == "CLOSED"
    assert await pay_entry(gql, lapsing, lapsing_entry["id"]) == {
        "__typename": "WaitlistEntryNotPayableError",
        "message": "this waitlist entry is not waiting for its fee",
    }


async def test_a_department_wide_prepaid_entry_needs_one_price(gql: GraphQLClient) -> None:
    department = await factories.department()
    holder = await person("持号")
    for fee in (1500, 3000):
        doctor_row, _ = await factories.doctor(department)
        schedule = await factories.session(
            capacity=1, fee=fee, starts_in=timedelta(days=3), doctor_row=doctor_row
        )
        slot = await Slot.get(schedule_id=schedule.id)
        other = await person("持号")
        assert (await book(gql, other.actor.token, slot.id, other.patient_id))["__typename"] == "Booking"
    target = {"departmentId": str(department.id), "date": schedule.date.isoformat()}

    result = await join(gql, holder, **target)

    assert result == {
        "__typename": "InvalidInputError",
        "message": "these sessions have different fees: name a session or a type",
    }
    assert await WaitlistEntry.all().count() == 0


async def test_the_entry_transition_table_with_awaiting_payment() -> None:
    allowed = {(current, target) for current in W for target in W if entries.can_transition(current, target)}
    assert {t for c, t in allowed if c is W.AWAITING_PAYMENT} == {W.WAITING, W.EXPIRED, W.LEFT}
    assert {c for c, t in allowed if t is W.AWAITING_PAYMENT} == set()
    entry = WaitlistEntry(id=0, status=W.BOOKED)
    with pytest.raises(InvalidTransition):
        await move_entry(entry, W.WAITING)


@pytest.mark.skipif(
    dialect() == "sqlite",
    reason="several processes on one SQLite file serialise on its lock; scale-out is PostgreSQL/MariaDB",
)
async def test_two_server_processes_book_each_prepaid_waiter_once_and_refund_the_unserved_once(
    gql: GraphQLClient, server_processes: Callable[..., ServerProcess]
) -> None:
    schedule, holders, booking_ids = await paid_full_session(gql, seats=4)
    waiters = [await person(f"候补{i}") for i in range(5)]
    entry_ids = [await join_and_pay(gql, w, schedule.id) for w in waiters]
    env = {
        "GUALEMA_RUN_WORKERS": "true",
        "GUALEMA_WORKER_INTERVAL_SECONDS": "0.05",
        "GUALEMA_WAITLIST_MODE": "prepaid",
    }
    await asyncio.gather(*(asyncio.to_thread(server_processes, extra_env=env) for _ in range(2)))

    # Four holders cancel at once; both processes (and this one) serve the line.
    await asyncio.gather(*(cancel(gql, h, b) for h, b in zip(holders, booking_ids, strict=True)))
    await wait_until(lambda: WaitlistEntry.filter(status=W.BOOKED).count(), 4)
    await wait_until(lambda: Job.filter(kind="seat.freed", done_at__isnull=True).count(), 0)

    entries = [await WaitlistEntry.get(id=i) for i in entry_ids]
    assert [e.status for e in entries] == [W.BOOKED] * 4 + [W.WAITING]
    active = await active_bookings(schedule.id)
    assert sorted(b.patient_id for b in active) == sorted(w.patient_id for w in waiters[:4])
    assert {b.status for b in active} == {BookingStatus.CONFIRMED}
    orders = {o.waitlist_entry_id: o for o in await PaymentOrder.filter(waitlist_entry_id__in=entry_ids)}
    assert [orders[e.id].booking_id for e in entries[:4]] == [e.booking_id for e in entries[:4]]
    assert (await Slot.get(schedule_id=schedule.id)).remaining == 0

    # The fifth waiter's deadline passes: the processes race to expire and refund it.
    await WaitlistEntry.filter(id=entry_ids[4]).update(deadline=utcnow() - timedelta(seconds=1))
    unserved = orders[entry_ids[4]]
    await wait_until(lambda: Refund.filter(order_id=unserved.id, status=RefundStatus.SUCCEEDED).count(), 1)
    await wait_until(lambda: Job.filter(kind="waitlist.refund", done_at__isnull=True).count(), 0)
    assert await Refund.filter(order_id=unserved.id).count() == 1
    assert await SandboxRefund.filter(out_trade_no=unserved.out_trade_no).count() == 1
    assert await Refund.filter(order_id__in=[o.id for o in orders.values()]).count() == 1
    assert await Job.filter(failed_at__isnull=False).count() == 0


async def wait_until(count: Callable[[], Any], expected: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while (found := await count()) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"expected {expected}, still {found} after {within} s")
        await asyncio.sleep(0.1)
