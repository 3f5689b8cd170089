"""Once a slot is sold out, this process refuses from memory (decision 262): the database is not asked,
the refusal is still counted, a replay of a key that booked gets its booking, and a seat given back
reopens the slot at once."""

from __future__ import annotations

from gualema.settings import get_settings
from models.scheduling import Slot
from models.statistics.metrics import Metric
from models.statistics.tables import DailyFigure
from resolvers.booking import flush_sold_out_refusals
from tests import factories
from tests.booking.operations import CANCEL, book, first_slot
from tests.fixtures.api import GraphQLClient


async def test_a_sold_out_slot_is_refused_from_memory_until_a_seat_is_given_back(gql: GraphQLClient) -> None:
    session = await factories.session(capacity=1)
    slot = await first_slot(session.id)
    first, second = await factories.patient_user(), await factories.patient_user()
    first_patient, second_patient = await factories.patient(first), await factories.patient(second)
    booked = await book(gql, first.token, slot.id, first_patient.id, key="first-key-0001")
    assert booked["__typename"] == "Booking"
    # The database refuses the second patient and this process learns the slot is sold out.
    assert (await book(gql, second.token, slot.id, second_patient.id))["__typename"] == "SlotUnavailable"

    # A seat appears behind the process's back (no writer noted it): the refusal came from memory.
    await Slot.filter(id=slot.id).update(remaining=1)
    assert (await book(gql, second.token, slot.id, second_patient.id))["__typename"] == "SlotUnavailable"
    await Slot.filter(id=slot.id).update(remaining=0)
    # The key that booked replays through the database and gets its own booking back.
    replayed = await book(gql, first.token, slot.id, first_patient.id, key="first-key-0001")
    assert (replayed["__typename"], replayed["id"]) == ("Booking", booked["id"])

    cancelled = await gql.as_(first.token).data(CANCEL, {"input": {"bookingId": booked["id"]}})
    assert cancelled["cancelBooking"]["__typename"] == "Booking"
    # The seat given back reopened the slot in this process at once.
    assert (await book(gql, second.token, slot.id, second_patient.id))["__typename"] == "Booking"


async def test_refusals_answered_from_memory_are_counted_in_the_statistics(gql: GraphQLClient) -> None:
    session = await factories.session(capacity=1)
    slot = await first_slot(session.id)
    owner = await factories.patient_user()
    assert (await book(gql, owner.token, slot.id, (await factories.patient(owner)).id))[
        "__typename"
    ] == "Booking"
    crowd = [await factories.patient_user() for _ in range(3)]
    for student in crowd:
        refused = await book(gql, student.token, slot.id, (await factories.patient(student)).id)
        assert refused["__typename"] == "SlotUnavailable"

    await flush_sold_out_refusals(get_settings())

    counted = await DailyFigure.filter(
        department_id=session.department_id, doctor_id=session.doctor_id, metric=Metric.REFUSED_SOLD_OUT.value
    ).values_list("value", flat=True)
    assert sum(int(value) for value in counted) == 3  # type: ignore[call-overload]
