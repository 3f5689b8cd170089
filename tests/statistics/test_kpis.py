"""The kpis query: refused attempts by reason, revenue by payment date, previous periods, admin only."""

from __future__ import annotations

from datetime import timedelta

from gualema.settings import Settings
from models.clock import utcnow
from models.scheduling import Slot
from models.statistics import recompute
from tests import factories
from tests.booking.operations import BOOK, book_input
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import cancel_booking, run_payment_work
from tests.statistics.scenario import KPIS, B, move, paid_booking, people, place


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


async def test_revenue_is_fees_paid_minus_refunded_on_the_day_the_money_moved(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    doctor, _ = await factories.doctor()
    schedule = await factories.session(capacity=2, fee=1500, doctor_row=doctor)
    slot = await Slot.get(schedule_id=schedule.id)
    kept_by, refunded_to = await people(2)
    await paid_booking(gql, providers, kept_by, slot)
    await cancel_booking(await paid_booking(gql, providers, refunded_to, slot), "patient cancelled")
    await run_payment_work(settings)

    admin = await factories.admin_user()
    today = utcnow().astimezone(settings.tz).date()
    yesterday = today - timedelta(days=1)
    data = await gql.as_(admin.token).data(
        KPIS,
        {
            "from": yesterday.isoformat(),
            "to": today.isoformat(),
            "groupBy": "DAY",
            "doctorId": str(doctor.id),
        },
    )
    assert [(r["period"], r["revenue"]) for r in data["kpis"]["rows"]] == [
        (yesterday.isoformat(), {"value": 0, "previous": 0}),
        (today.isoformat(), {"value": 1500, "previous": 0}),
    ]
    assert await recompute.from_rollup({doctor.id}) == await recompute.from_raw_records(
        settings.tz, {doctor.id}
    )


async def test_kpis_are_for_administrators_and_refuse_a_reversed_range(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    variables = {"from": "2026-03-02", "to": "2026-03-01", "groupBy": "MONTH"}
    refused = await gql.as_(patient.token)(KPIS, variables)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    admin = await factories.admin_user()
    answer = await gql.as_(admin.token).data(KPIS, variables)
    assert answer["kpis"] == {"__typename": "InvalidInputError", "message": "the range ends before it starts"}


SEAT_REFILLS = """
query($from: Date!, $to: Date!, $doctorId: ID) {
  kpis(from: $from, to: $to, groupBy: DOCTOR, doctorId: $doctorId) {
    ... on KpiTable { rows { doctorId seatRefillRate { numerator denominator value } } }
  }
}"""


async def test_a_seat_given_back_and_booked_again_by_anyone_counts_as_refilled(
    gql: GraphQLClient, settings: Settings
) -> None:
    doctor, _ = await factories.doctor()
    taken_again = await Slot.get(schedule_id=(await factories.session(capacity=2, doctor_row=doctor)).id)
    left_empty = await Slot.get(
        schedule_id=(await factories.session(capacity=2, doctor_row=doctor, starts_in=timedelta(days=2))).id
    )
    first, second, third, fourth = await people(4)
    now = utcnow()
    cancelled = await place(first, taken_again, now - timedelta(minutes=5))
    await place(second, taken_again, now - timedelta(minutes=4))
    await move(cancelled, B.CANCELLED, at=now - timedelta(minutes=3))
    await place(third, taken_again, now - timedelta(minutes=2))  # anyone, not from the waitlist
    await move(await place(fourth, left_empty, now - timedelta(minutes=5)), B.CANCELLED, at=now)

    admin = await factories.admin_user()
    today = now.astimezone(settings.tz).date()
    data = await gql.as_(admin.token).data(
        SEAT_REFILLS,
        {
            "from": today.isoformat(),
            "to": (today + timedelta(days=3)).isoformat(),
            "doctorId": str(doctor.id),
        },
    )
    (row,) = data["kpis"]["rows"]
    assert row["seatRefillRate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
