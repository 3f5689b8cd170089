"""An administrator refunds part of what was paid, with a reason, through the refund path; never
more than was paid, and the rest can still be refunded later."""

from __future__ import annotations

from models.audit import AuditEntry
from models.payments import PaymentStatus, Refund
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import the_order
from tests.payments.test_refunds import paid_wechat_booking

REFUND = """
mutation($input: RefundBookingInput!) {
  refundBooking(input: $input) { __typename ... on Booking { id } ... on Error { message } }
}"""


async def test_a_partial_refund_with_a_reason_and_never_above_what_was_paid(
    gql: GraphQLClient, providers: Providers
) -> None:
    admin = await factories.admin_user()
    held = await paid_wechat_booking(gql, providers, fee=2000)
    as_admin = gql.as_(admin.token)

    def refund(amount: int) -> dict[str, object]:
        return {
            "input": {"bookingId": str(held.booking.id), "amount": amount, "reason": "检查未做，退部分费用"}
        }

    first = await as_admin.data(REFUND, refund(500))
    too_much = await as_admin.data(REFUND, refund(1600))
    rest = await as_admin.data(REFUND, refund(1500))

    assert [r["refundBooking"]["__typename"] for r in (first, too_much, rest)] == [
        "Booking",
        "RefundExceedsPaid",
        "Booking",
    ]
    order = await the_order(held.booking)
    amounts = await Refund.filter(order_id=order.id).order_by("id").values_list("amount", "reason")
    assert amounts == [(500, "检查未做，退部分费用"), (1500, "检查未做，退部分费用")]
    assert (order.status, order.refunded_amount) == (PaymentStatus.REFUNDED, 2000)
    assert await AuditEntry.filter(action="booking.refund", actor_id=admin.id).count() == 2
