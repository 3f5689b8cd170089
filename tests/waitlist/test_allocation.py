from __future__ import annotations

import asyncio
from datetime import timedelta

from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models.booking import Booking, BookingStatus
from models.booking.actions import expire_holds, stop_schedule
from models.clock import utcnow
from models.reactions import change_booking
from models.scheduling import Slot
from models.waitlist import WaitlistEntry, WaitlistStatus
from models.waitlist.statistics import stats
from tests import factories
from tests.booking.operations import book
from tests.fixtures.api import GraphQLClient
from tests.waitlist.scenario import active_bookings, cancel, drain, full_session, join, person


async def test_ten_simultaneous_cancellations_serve_the_first_ten_of_fifteen_waiters_once(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, holders, booking_ids = await full_session(gql, seats=10)
    waiters = [await person(f"候补{i}") for i in range(15)]
    entries = [await join(gql, w, scheduleId=str(schedule.id)) for w in waiters]
    assert [e["position"] for e in entries] == list(range(1, 16))

    results = await asyncio.gather(*(cancel(gql, h, b) for h, b in zip(holders, booking_ids, strict=True)))
    assert {r["status"] for r in results} == {"CANCELLED"}
    await drain(settings, workers=3)

    rows = {e.id: e for e in await WaitlistEntry.filter(schedule_id=schedule.id)}
    ordered = [rows[int(e["id"])] for e in entries]
    assert [e.status for e in ordered] == [WaitlistStatus.BOOKED] * 10 + [WaitlistStatus.WAITING] * 5
    served_bookings = [e.booking_id for e in ordered[:10]]
    assert len(set(served_bookings)) == 10
    active = await active_bookings(schedule.id)
    assert len(active) == 10
    assert sorted(b.patient_id for b in active) == sorted(w.patient_id for w in waiters[:10])
    slot = await Slot.get(schedule_id=schedule.id)
    assert slot.remaining == 0
    summary = await stats(schedule_id=schedule.id)
    assert (summary.waited, summary.served) == (15, 10)


async def test_a_freed_seat_is_kept_from_the_public_while_someone_waits(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, holders, booking_ids = await full_session(gql, seats=1)
    waiter = await person("等")
    await join(gql, waiter, scheduleId=str(schedule.id))
    await cancel(gql, holders[0], booking_ids[0])

    passerby = await person("路人")
    slot = await Slot.get(schedule_id=schedule.id)
    snatched = await book(gql, passerby.actor.token, slot.id, passerby.patient_id)
    assert snatched["__typename"] == "SlotUnavailable"

    await drain(settings)
    entry = await WaitlistEntry.get(patient_id=waiter.patient_id)
    assert entry.status is WaitlistStatus.BOOKED
    booking = await Booking.get(id=entry.booking_id)
    assert booking.status is BookingStatus.CONFIRMED


async def test_an_offer_holds_a_paid_seat_and_when_it_lapses_passes_on_while_another_seat_frees(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, holders, booking_ids = await full_session(gql, seats=2, fee=1500)
    # The holders' own holds must not lapse in this story: mark them paid.
    await Booking.filter(id__in=booking_ids).update(status=BookingStatus.CONFIRMED, expires_at=None)
    first, second, third = await person("一"), await person("二"), await person("三")
    for who in (first, second, third):
        await join(gql, who, scheduleId=str(schedule.id))

    await cancel(gql, holders[0], booking_ids[0])
    await drain(settings)
    offered = await WaitlistEntry.get(patient_id=first.patient_id)
    assert offered.status is WaitlistStatus.OFFERED
    held = await Booking.get(id=offered.booking_id)
    assert held.status is BookingStatus.PENDING_PAYMENT
    assert held.expires_at is not None

    # The offer lapses at the same moment as the second holder cancels.
    await Booking.filter(id=held.id).update(expires_at=utcnow() - timedelta(seconds=1))
    await asyncio.gather(expire_holds(), cancel(gql, holders[1], booking_ids[1]))
    await drain(settings)

    statuses = {
        who.patient_id: (await WaitlistEntry.get(patient_id=who.patient_id)).status
        for who in (first, second, third)
    }
    assert statuses == {
        first.patient_id: WaitlistStatus.EXPIRED,
        second.patient_id: WaitlistStatus.OFFERED,
        third.patient_id: WaitlistStatus.OFFERED,
    }
    assert (await Slot.get(schedule_id=schedule.id)).remaining == 0
    assert len(await active_bookings(schedule.id)) == 2


async def test_paying_for_an_offer_books_the_waiter(gql: GraphQLClient, settings: Settings) -> None:
    schedule, holders, booking_ids = await full_session(gql, seats=1, fee=800)
    await Booking.filter(id__in=booking_ids).update(status=BookingStatus.CONFIRMED, expires_at=None)
    waiter = await person()
    await join(gql, waiter, scheduleId=str(schedule.id))
    await cancel(gql, holders[0], booking_ids[0])
    await drain(settings)
    entry = await WaitlistEntry.get(patient_id=waiter.patient_id)
    booking = await Booking.get(id=entry.booking_id)
    async with in_transaction():
        await change_booking(booking, BookingStatus.CONFIRMED, actor_id=None, reason="paid")
    assert (await WaitlistEntry.get(id=entry.id)).status is WaitlistStatus.BOOKED


async def test_entries_still_waiting_at_the_deadline_expire_once(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, _, _ = await full_session(gql, seats=1)
    waiter = await person()
    joined = await join(gql, waiter, scheduleId=str(schedule.id))
    await WaitlistEntry.filter(id=int(joined["id"])).update(deadline=utcnow() - timedelta(minutes=1))

    await asyncio.gather(*(drain(settings) for _ in range(2)))
    entry = await WaitlistEntry.get(id=int(joined["id"]))
    assert entry.status is WaitlistStatus.EXPIRED
    assert entry.active_key is None


async def test_a_seat_left_in_the_pool_while_someone_waits_is_handed_over(
    gql: GraphQLClient, settings: Settings
) -> None:
    schedule, _, _ = await full_session(gql, seats=1)
    waiter = await person()
    await join(gql, waiter, scheduleId=str(schedule.id))
    # Extra capacity (加号) lands in the public pool; the sweep hands it to the waiter.
    await Slot.filter(schedule_id=schedule.id).update(capacity=2, remaining=1)
    await drain(settings)
    entry = await WaitlistEntry.get(patient_id=waiter.patient_id)
    assert entry.status is WaitlistStatus.BOOKED
    assert (await Slot.get(schedule_id=schedule.id)).remaining == 0


async def test_a_stopped_session_gives_nothing_to_waiters(gql: GraphQLClient, settings: Settings) -> None:
    schedule, _, _ = await full_session(gql, seats=1)
    waiter = await person()
    await join(gql, waiter, scheduleId=str(schedule.id))
    admin = await factories.admin_user()
    async with in_transaction():
        await stop_schedule(schedule.id, actor_id=admin.id, reason="医生出差")
    await drain(settings)
    assert (await WaitlistEntry.get(patient_id=waiter.patient_id)).status is WaitlistStatus.WAITING
    assert await Booking.filter(patient_id=waiter.patient_id).count() == 0
