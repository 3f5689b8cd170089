"""Release-hour browsing is served from each process's cache (decision 260), and a change made through
any process shows in every process's answer within a second: a seat taken or given back, a stopped
session, a new session, a new fee. Only anonymous public answers are kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gualema.database import dialect
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import BOOK, CANCEL, book_input
from tests.conftest import REDIS_URL
from tests.fixtures.api import GraphQLClient, ServerProcess

pytestmark = pytest.mark.skipif(
    REDIS_URL is None, reason="needs Redis (GUALEMA_TEST_REDIS_URL) to carry changes between processes"
)

WITHIN_SECONDS = 1.0
CACHE_ON = {"GUALEMA_BROWSE_CACHE_MAX_AGE_SECONDS": "30"}
WEEK = """query($dept: ID!, $from: Date!, $to: Date!) {
  schedules(departmentId: $dept, dateFrom: $from, dateTo: $to) {
    id status fee remaining slots { id remaining bookable }
  }
}"""
FEES = "{ registrationTypes { id fee } }"


@asynccontextmanager
async def two_processes(
    server_processes: Callable[..., ServerProcess],
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    if dialect() == "sqlite":
        pytest.skip("several processes on one SQLite file is not a supported deployment; run on PostgreSQL")
    first, second = await asyncio.gather(
        *(asyncio.to_thread(server_processes, extra_env=CACHE_ON) for _ in range(2))
    )
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=10) as a,
        httpx.AsyncClient(base_url=second.url, timeout=10) as b,
    ):
        yield a, b


async def anonymous(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = (await client.post("/graphql", json={"query": query, "variables": variables or {}})).json()
    assert "errors" not in body, body
    return body["data"]


async def shown_everywhere(
    clients: tuple[httpx.AsyncClient, ...],
    read: Callable[[httpx.AsyncClient], Awaitable[Any]],
    expected: Any,
) -> float:
    """Seconds until every process answers `expected`; fails at the deadline with the last answers."""
    started = time.monotonic()
    answers: list[Any] = []
    while time.monotonic() - started < WITHIN_SECONDS:
        answers = [await read(client) for client in clients]
        if all(answer == expected for answer in answers):
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"not shown within {WITHIN_SECONDS} s: {answers} != {expected}")


async def test_seats_taken_and_given_back_and_a_stop_show_in_every_process_within_a_second(
    server_processes: Callable[..., ServerProcess],
) -> None:
    department = await factories.department()
    doctor, _ = await factories.doctor(department)
    session = await factories.session(capacity=3, slot_count=1, doctor_row=doctor)
    slot = await Slot.get(schedule_id=session.id)
    owner = await factories.patient_user()
    patient = await factories.patient(owner)
    admin = await factories.admin_user()
    week = {
        "dept": str(department.id),
        "from": str(session.date),
        "to": str(session.date + timedelta(days=6)),
    }

    async def seats(client: httpx.AsyncClient) -> tuple[str, int]:
        (row,) = (await anonymous(client, WEEK, week))["schedules"]
        return row["status"], row["remaining"]

    async with two_processes(server_processes) as (a, b):
        assert [await seats(a), await seats(b)] == [("OPEN", 3), ("OPEN", 3)]  # both now hold it

        booked = await GraphQLClient(a, owner.token).data(BOOK, book_input(slot.id, patient.id))
        assert booked["bookSlot"]["__typename"] == "Booking"
        await shown_everywhere((a, b), seats, ("OPEN", 2))

        cancelled = await GraphQLClient(b, owner.token).data(
            CANCEL, {"input": {"bookingId": booked["bookSlot"]["id"]}}
        )
        assert cancelled["cancelBooking"]["__typename"] == "Booking"
        await shown_everywhere((a, b), seats, ("OPEN", 3))

        stopped = await GraphQLClient(b, admin.token).data(
            "mutation($i: StopScheduleInput!) { stopSchedule(input: $i) { __typename } }",
            {"i": {"scheduleId": str(session.id), "reason": "医生出差"}},
        )
        assert stopped["stopSchedule"]["__typename"] == "Schedule"
        await shown_everywhere((a, b), seats, ("STOPPED", 0))


async def test_a_new_session_and_a_new_fee_show_in_every_process_within_a_second(
    server_processes: Callable[..., ServerProcess],
) -> None:
    department = await factories.department()
    doctor, _ = await factories.doctor(department)
    registration = await factories.registration_type(fee=500)
    admin = await factories.admin_user()
    day = (await factories.session(doctor_row=doctor)).date + timedelta(days=1)
    week = {
        "dept": str(department.id),
        "from": str(day - timedelta(days=1)),
        "to": str(day + timedelta(days=5)),
    }

    async def sessions(client: httpx.AsyncClient) -> int:
        return len((await anonymous(client, WEEK, week))["schedules"])

    async def fee(client: httpx.AsyncClient) -> int:
        rows = (await anonymous(client, FEES))["registrationTypes"]
        return next(row["fee"] for row in rows if row["id"] == str(registration.id))

    async with two_processes(server_processes) as (a, b):
        assert [await sessions(a), await sessions(b), await fee(a), await fee(b)] == [1, 1, 500, 500]

        created = await GraphQLClient(a, admin.token).data(
            """mutation($i: CreateScheduleInput!) { createSchedule(input: $i) { __typename } }""",
            {
                "i": {
                    "doctorId": str(doctor.id),
                    "registrationTypeId": str(registration.id),
                    "roomId": str(doctor.room_id),
                    "date": str(day),
                    "period": "AFTERNOON",
                    "capacity": 4,
                }
            },
        )
        assert created["createSchedule"]["__typename"] == "Schedule"
        await shown_everywhere((a, b), sessions, 2)

        changed = await GraphQLClient(b, admin.token).data(
            "mutation($i: UpdateRegistrationTypeInput!) { updateRegistrationType(input: $i) { __typename } }",
            {"i": {"id": str(registration.id), "fee": 800}},
        )
        assert changed["updateRegistrationType"]["__typename"] == "RegistrationType"
        await shown_everywhere((a, b), fee, 800)


async def test_answers_come_from_the_cache_and_only_anonymous_public_ones_are_kept(
    server_processes: Callable[..., ServerProcess],
) -> None:
    department = await factories.department()
    doctor, doctor_login = await factories.doctor(department)
    session = await factories.session(capacity=5, doctor_row=doctor)
    admin = await factories.admin_user()
    week = {"dept": str(department.id), "from": str(session.date), "to": str(session.date)}
    account_of_doctors = "{ doctors { id account { id } } }"

    async with two_processes(server_processes) as (a, _):
        assert (await anonymous(a, WEEK, week))["schedules"][0]["remaining"] == 5
        # Changed behind the servers' back (no writer noted it): the kept answer is served.
        await Slot.filter(schedule_id=session.id).update(remaining=1)
        assert (await anonymous(a, WEEK, week))["schedules"][0]["remaining"] == 5

        # The administrator's answer (with the doctor's login) is never kept for anyone else.
        as_admin = await GraphQLClient(a, admin.token).data(account_of_doctors)
        assert {"id": str(doctor.id), "account": {"id": str(doctor_login.id)}} in as_admin["doctors"]
        refused = (await a.post("/graphql", json={"query": account_of_doctors})).json()
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # An authenticated caller's public read executes: it sees the row as it is now.
        mine = await GraphQLClient(a, admin.token).data(WEEK, week)
        assert mine["schedules"][0]["remaining"] == 1
