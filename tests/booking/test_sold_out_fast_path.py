"""Once a slot is sold out, this process refuses from memory (decision 262): the database is not asked,
the refusal is still counted, a replay of a key that booked gets its booking, and a seat given back
reopens the slot at once. After one such refusal has executed, the next ones for the same document
are answered before GraphQL execution (decision 274), byte for byte the same but for the cost
report, and anything that would not be a plain refusal still executes."""

from __future__ import annotations

from typing import Any

import httpx

from gualema.settings import get_settings
from models.scheduling import Slot
from models.statistics.metrics import Metric
from models.statistics.tables import DailyFigure
from resolvers.booking import flush_sold_out_refusals
from tests import factories
from tests.booking.operations import BOOK, CANCEL, book, book_input, first_slot
from tests.fixtures.api import GraphQLClient
from tests.operations.test_metrics import scrape


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


async def sold_out_slot(gql: GraphQLClient) -> tuple[int, dict[str, Any], str]:
    """A slot of one seat taken by its owner, and one refusal that taught this process it is sold out."""
    session = await factories.session(capacity=1)
    slot = await first_slot(session.id)
    owner = await factories.patient_user()
    owner_patient = await factories.patient(owner)
    assert (await book(gql, owner.token, slot.id, owner_patient.id, key="owner-key-0001"))[
        "__typename"
    ] == "Booking"
    student = await factories.patient_user()
    assert (await book(gql, student.token, slot.id, (await factories.patient(student)).id))[
        "__typename"
    ] == "SlotUnavailable"
    return slot.id, book_input(slot.id, owner_patient.id, key="owner-key-0001"), owner.token


# Answers are learned per document: this test's own, so that other tests' answers are not reused.
LATER_REFUSALS = BOOK.replace("mutation(", "mutation LaterRefusals(")


async def refused_by(gql: GraphQLClient, slot_id: int, **headers: str) -> httpx.Response:
    student = await factories.patient_user()
    patient = await factories.patient(student)
    return await gql.as_(student.token).post(LATER_REFUSALS, book_input(slot_id, patient.id), **headers)


async def test_later_refusals_are_answered_before_execution_exactly_as_executed(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    slot_id, _, _ = await sold_out_slot(gql)
    before = await scrape(http)

    # The first refusal from the mark executes; the ones after it are answered without executing
    executed = [await refused_by(gql, slot_id, **{"Accept-Language": lang}) for lang in ("en", "zh-CN")]
    early = [await refused_by(gql, slot_id, **{"Accept-Language": lang}) for lang in ("en", "zh-CN", "en")]

    after = await scrape(http)
    key = 'gualema_graphql_answered_without_execution_total{answer="SlotUnavailableError",field="bookSlot"}'
    assert after.get(key, 0) - before.get(key, 0) == 3
    answers = 'gualema_graphql_answers_total{answer="SlotUnavailableError",field="bookSlot"}'
    assert after[answers] - before.get(answers, 0) == 5  # every refusal is counted as an answer
    # Same status, media type, data and cost as the executed answer in the same language
    for answer, model in zip(early, [*executed, executed[0]], strict=True):
        assert (answer.status_code, answer.headers["content-type"]) == (200, model.headers["content-type"])
        assert answer.json()["data"] == model.json()["data"]
        cost, model_cost = answer.json()["extensions"]["cost"], model.json()["extensions"]["cost"]
        assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (
            model_cost["requestedQueryCost"],
            model_cost["actualQueryCost"],
        )
        assert answer.headers["ratelimit-policy"] == model.headers["ratelimit-policy"]
    assert early[0].json()["data"]["bookSlot"]["message"] == "this time slot has no seat left"
    assert early[1].json()["data"]["bookSlot"]["message"] != early[0].json()["data"]["bookSlot"]["message"]
    # The graphql-response media type is honoured as well
    typed = await refused_by(gql, slot_id, Accept="application/graphql-response+json")
    assert typed.headers["content-type"].startswith("application/graphql-response+json")
    assert typed.json()["data"]["bookSlot"]["__typename"] == "SlotUnavailable"


async def test_what_would_not_be_a_plain_refusal_still_executes(gql: GraphQLClient) -> None:
    slot_id, owners_request, owner_token = await sold_out_slot(gql)
    await refused_by(gql, slot_id)  # executed from the mark: the answer is learned

    # The key that booked replays and gets its booking back
    owner = gql.as_(owner_token)
    replay = await owner(LATER_REFUSALS, owners_request)
    assert replay["data"]["bookSlot"]["__typename"] == "Booking"
    # A malformed slot id is bad input, not a refusal
    student = await factories.patient_user()
    patient = await factories.patient(student)
    malformed = await gql.as_(student.token)(
        LATER_REFUSALS, {"input": {**book_input(slot_id, patient.id)["input"], "slotId": "x1"}}
    )
    assert malformed["data"]["bookSlot"]["__typename"] == "InvalidInputError"
    # An idempotency key that breaks the rules is refused as such
    short = await gql.as_(student.token)(
        LATER_REFUSALS, {"input": {**book_input(slot_id, patient.id)["input"], "idempotencyKey": "k"}}
    )
    assert short["data"]["bookSlot"]["__typename"] == "InvalidInputError"
    # A doctor may not book at all
    _, doctor = await factories.doctor()
    forbidden = await gql.as_(doctor.token)(LATER_REFUSALS, book_input(slot_id, patient.id))
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A token that does not verify is 401, as for any request
    refused = await gql.as_("not-a-token").post(LATER_REFUSALS, book_input(slot_id, patient.id))
    assert refused.status_code == 401
    # An unknown field in the input is refused by coercion
    extra = await gql.as_(student.token).post(
        LATER_REFUSALS, {"input": {**book_input(slot_id, patient.id)["input"], "note": "x"}}
    )
    assert "data" not in extra.json() or extra.json()["data"] is None
    assert extra.json()["errors"]
