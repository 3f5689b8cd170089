"""The demo hospital's week of sessions: released at once, and seeding twice adds nothing."""

from __future__ import annotations

from gualema.demo_schedules import DAYS, seed_demo_schedules
from models.clock import utcnow
from models.scheduling import Schedule
from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient


async def test_demo_sessions_are_bookable_and_seeding_is_idempotent(gql: GraphQLClient) -> None:
    await factories.registration_type(name="普通号", fee=0)
    await factories.doctor()
    await factories.doctor()

    await seed_demo_schedules()
    created = await Schedule.all().count()
    await seed_demo_schedules()

    assert (DAYS - 1) * 2 * 2 <= created <= DAYS * 2 * 2  # today's sessions that already started are skipped
    assert await Schedule.all().count() == created
    assert await Schedule.filter(release_at__gt=utcnow()).count() == 0
    student = await factories.patient_user()
    session = await Schedule.all().order_by("-starts_at").first()
    assert session is not None
    booked = await book(
        gql, student.token, (await first_slot(session.id)).id, (await factories.patient(student)).id
    )
    assert (booked["__typename"], booked["queueNumber"]) == ("Booking", 1)
