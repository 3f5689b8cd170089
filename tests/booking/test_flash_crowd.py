"""Release hour (放号) under real concurrency: many HTTP requests at once against real servers.

Never oversell, never lose a seat: for every slot, remaining + active bookings == capacity.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gualema.database import dialect
from models.accounts import Account, Patient
from models.booking import ACTIVE, Booking, BookingQuota
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import BOOK, book_input
from tests.fixtures.api import LiveServer, ServerProcess

LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64)


async def _crowd(size: int) -> list[tuple[str, int]]:
    """`size` students, each with an account, a login token and one patient (bulk-inserted)."""
    tag = secrets.token_hex(3)
    await Account.bulk_create(
        [Account(phone=f"15{tag[:4]}{i:05d}"[:11], name=f"学生{i}", password_hash="x") for i in range(size)]
    )
    accounts = await Account.filter(name__startswith="学生").order_by("id")
    template = await factories.patient(accounts[0])
    await Patient.bulk_create(
        [
            Patient(
                account_id=a.id,
                name=a.name,
                relation=template.relation,
                id_kind=template.id_kind,
                id_number_cipher=template.id_number_cipher,
                id_number_hash=f"{template.id_number_hash[:50]}{a.id:014d}",
                id_number_masked=template.id_number_masked,
                phone=a.phone,
            )
            for a in accounts[1:]
        ]
    )
    patients = {p.account_id: p.id for p in await Patient.all()}
    return [(factories.token_for(a, minutes=10), patients[a.id]) for a in accounts]


async def _book_all(urls: list[str], calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    clients = [httpx.AsyncClient(base_url=url, limits=LIMITS, timeout=60) for url in urls]
    # All tasks start at once; 64 connections are in flight at any moment (httpcore's pool scans its
    # whole queue on every step, so hundreds of queued requests would cost the client, not the server).
    in_flight = asyncio.Semaphore(64)
    try:

        async def one(i: int, token: str, variables: dict[str, Any]) -> dict[str, Any]:
            async with in_flight:
                for attempt in range(3):
                    try:
                        response = await clients[i % len(clients)].post(
                            "/graphql",
                            json={"query": BOOK, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        break
                    except httpx.TransportError:
                        # A kept-alive connection the server closed meanwhile: retry as a phone
                        # would, with the same idempotency key (which makes the retry safe).
                        if attempt == 2:
                            raise
            assert response.status_code == 200, response.text
            body = response.json()
            assert "errors" not in body, body
            result: dict[str, Any] = body["data"]["bookSlot"]
            return result

        return await asyncio.gather(*(one(i, token, v) for i, (token, v) in enumerate(calls)))
    finally:
        for client in clients:
            await client.aclose()


async def _assert_no_seat_sold_twice_or_lost(schedule_id: int) -> None:
    for slot in await Slot.filter(schedule_id=schedule_id):
        active = await Booking.filter(slot_id=slot.id, status__in=list(ACTIVE)).count()
        assert slot.remaining >= 0
        assert slot.remaining + active == slot.capacity, (slot.id, slot.remaining, active, slot.capacity)
    # A request refused after taking its account's quota unit (the seat went meanwhile) gave it back.
    for quota in await BookingQuota.all():
        active = await Booking.filter(
            account_id=quota.account_id, visit_date=quota.visit_date, status__in=list(ACTIVE)
        ).count()
        assert quota.active == active, (quota.account_id, quota.active, active)


async def _release_hour(urls: list[str]) -> None:
    crowd = await _crowd(500)
    session = await factories.session(capacity=50, slot_count=5)
    slots = [s.id for s in await Slot.filter(schedule_id=session.id).order_by("starts_at")]

    results = await _book_all(
        urls, [(token, book_input(slots[i % 5], patient_id)) for i, (token, patient_id) in enumerate(crowd)]
    )

    assert Counter(r["__typename"] for r in results) == {"Booking": 50, "SlotUnavailable": 450}
    assert sorted(r["queueNumber"] for r in results if r["__typename"] == "Booking") == list(range(1, 51))
    assert [s.remaining for s in await Slot.filter(schedule_id=session.id)] == [0] * 5
    assert await Booking.filter(schedule_id=session.id).count() == 50
    await _assert_no_seat_sold_twice_or_lost(session.id)


async def test_500_students_for_50_seats_get_exactly_50_bookings(live_server: LiveServer) -> None:
    await _release_hour([live_server.url])


async def test_one_patient_pressing_book_20_times_at_once_gets_one_booking(live_server: LiveServer) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    retrier = await factories.patient_user()
    retrier_patient = await factories.patient(retrier)
    session = await factories.session(capacity=40, slot_count=4)
    slots = [s.id for s in await Slot.filter(schedule_id=session.id).order_by("starts_at")]
    impatient = [(student.token, book_input(slots[i % 4], me.id)) for i in range(20)]
    same_key = [
        (retrier.token, book_input(slots[0], retrier_patient.id, key="one-tap-retried")) for _ in range(10)
    ]

    results = await _book_all([live_server.url], impatient + same_key)

    assert Counter(r["__typename"] for r in results[:20]) == {"Booking": 1, "DuplicateBooking": 19}
    assert {r["__typename"] for r in results[20:]} == {"Booking"}
    assert len({r["id"] for r in results[20:]}) == 1  # the same booking, answered ten times
    assert await Booking.filter(schedule_id=session.id).count() == 2
    await _assert_no_seat_sold_twice_or_lost(session.id)


async def test_two_server_processes_share_the_seats_exactly(
    server_processes: Callable[..., ServerProcess],
) -> None:
    if dialect() == "sqlite":
        pytest.skip("SQLite is the single-process embedded default; scale-out needs PostgreSQL or MariaDB")
    servers = [server_processes(), server_processes()]
    await _release_hour([server.url for server in servers])
