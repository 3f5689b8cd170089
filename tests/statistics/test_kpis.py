"""The kpis query: refused attempts by reason, revenue by payment date, previous periods, admin only."""

from __future__ import annotations

import secrets
from datetime import timedelta

from gualema.settings import Settings
from models.clock import utcnow
from models.payments import PaymentOrder, PaymentProvider, PaymentStatus, Refund, RefundStatus
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import BOOK, book_input
from tests.fixtures.api import GraphQLClient
from tests.statistics.scenario import KPIS, people, place


async def test_refused_attempts_count_by_reason_in_the_success_rate(
    gql: GraphQLClient, settings: Settings
) -> None:
    doctor, _ = await factories.doctor()
    full = await factories.session(capacity=1, doctor_row=doctor)
    later = await factories.session(
        capacity=1, doctor_row=doctor, released=False, starts_in=timedelta(days=2)
    )
    first, second = await people(2)
    full_slot = await Slot.get(schedule_id=full.id)
    later_slot = await Slot.get(schedule_id=later.id)
    await place(first, full_slot, utcnow())

    sold_out = await gql.as_(second.actor.token).data(BOOK, book_input(full_slot.id, second.patient_id))
    too_early = await gql.as_(second.actor.token).data(BOOK, book_input(later_slot.id, second.patient_id))
    assert sold_out["bookSlot"]["__typename"] == "SlotUnavailable"
    assert too_early["bookSlot"]["__typename"] == "NotYetReleased"

    admin = await factories.admin_user()
    today = utcnow().astimezone(settings.tz).date().isoformat()
    data = await gql.as_(admin.token).data(
        KPIS, {"from": today, "to": today, "groupBy": "DAY", "doctorId": str(doctor.id)}
    )
    (row,) = data["kpis"]["rows"]
    assert row["period"] == today
    assert row["registrations"] == {"value": 1, "previous": 0}
    assert row["successRate"]["numerator"] == 1
    assert row["successRate"]["denominator"] == 3
    failures = {f["reason"]: f["count"] for f in row["failures"]}
    assert failures == {
        "sold_out": 1,
        "not_released": 1,
        "quota": 0,
        "duplicate": 0,
        "blacklisted": 0,
        "closed": 0,
        "payment_lapsed": 0,
    }


async def test_revenue_is_paid_minus_refunded_by_payment_date_beside_the_day_before(
    gql: GraphQLClient, settings: Settings
) -> None:
    doctor, _ = await factories.doctor()
    schedule = await factories.session(capacity=2, fee=500, doctor_row=doctor)
    (patient,) = await people(1)
    booking = await place(patient, await Slot.get(schedule_id=schedule.id), utcnow())
    now = utcnow()
    order = await PaymentOrder.create(
        booking_id=booking.id,
        account_id=patient.actor.account.id,
        provider=PaymentProvider.SANDBOX,
        out_trade_no=secrets.token_hex(8),
        amount=500,
        status=PaymentStatus.REFUNDED,
        expires_at=now,
        paid_amount=500,
        paid_at=now - timedelta(days=1),
        refunded_amount=200,
    )
    await Refund.create(
        order=order,
        out_refund_no=secrets.token_hex(8),
        amount=200,
        reason="partial",
        status=RefundStatus.SUCCEEDED,
        succeeded_at=now,
    )

    admin = await factories.admin_user()
    today = now.astimezone(settings.tz).date()
    data = await gql.as_(admin.token).data(
        KPIS,
        {
            "from": (today - timedelta(days=1)).isoformat(),
            "to": today.isoformat(),
            "groupBy": "DAY",
            "doctorId": str(doctor.id),
        },
    )
    assert [(r["period"], r["revenue"]) for r in data["kpis"]["rows"]] == [
        ((today - timedelta(days=1)).isoformat(), {"value": 500, "previous": 0}),
        (today.isoformat(), {"value": -200, "previous": 500}),
    ]


async def test_kpis_are_for_administrators_and_refuse_a_reversed_range(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    variables = {"from": "2026-03-02", "to": "2026-03-01", "groupBy": "MONTH"}
    refused = await gql.as_(patient.token)(KPIS, variables)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    admin = await factories.admin_user()
    answer = await gql.as_(admin.token).data(KPIS, variables)
    assert answer["kpis"] == {"__typename": "InvalidInputError", "message": "the range ends before it starts"}
