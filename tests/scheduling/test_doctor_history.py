"""A doctor's history: the patients of every session of all their profiles, newest first, filtered by
dates, status, part of a patient's name and department (with its sub-departments), a page at a time,
in a fixed number of statements whatever the page's length."""

from __future__ import annotations

from datetime import timedelta

from models.booking import Booking, BookingStatus
from tests import factories
from tests.catalogue.sql_queries import counting_queries
from tests.fixtures.api import GraphQLClient

HISTORY = """
query($f: ClinicHistoryFilterInput, $first: Int, $after: String) {
  myClinicHistory(filter: $f, first: $first, after: $after) {
    edges { node { id status visitDate patient { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def _patient_reads(statements: list[str]) -> int:
    return sum(1 for q in statements if q.lstrip().upper().startswith("SELECT") and _reads_patients(q))


def _reads_patients(statement: str) -> bool:
    source = statement.upper().split(" FROM ", 1)[-1].split()[0].strip('"`')
    return source == "PATIENT"


def _ids(data: dict[str, object]) -> list[int]:
    history = data["myClinicHistory"]
    assert isinstance(history, dict)
    return [int(edge["node"]["id"]) for edge in history["edges"]]


async def test_the_history_spans_the_doctors_sessions_and_no_one_elses(
    gql: GraphQLClient,
) -> None:
    parent = await factories.department()
    child = await factories.department(parent_id=parent.id)
    doctor, login = await factories.doctor(child)
    today = await factories.clinic_today(doctor)
    earlier = await factories.session(capacity=5, starts_in=timedelta(days=-8), doctor_row=doctor)
    others = await factories.clinic_today()
    seen = await factories.confirmed_booking(earlier, patient_name="王小明")
    await Booking.filter(id=seen.id).update(status=BookingStatus.COMPLETED)
    waiting = await factories.confirmed_booking(today, patient_name="刘芳")
    await factories.confirmed_booking(others, patient_name="王大明")

    everything = await gql.as_(login.token).data(HISTORY)
    by_name = await gql.as_(login.token).data(HISTORY, {"f": {"patientName": "小明"}})
    completed = await gql.as_(login.token).data(HISTORY, {"f": {"statuses": ["COMPLETED"]}})
    elsewhere = await gql.as_(login.token).data(HISTORY, {"f": {"departmentId": str(others.department_id)}})
    by_parent = await gql.as_(login.token).data(HISTORY, {"f": {"departmentId": str(parent.id)}})
    this_week = await gql.as_(login.token).data(
        HISTORY, {"f": {"dateFrom": today.date.isoformat(), "dateTo": today.date.isoformat()}}
    )

    assert _ids(everything) == [waiting.id, seen.id]
    assert _ids(by_name) == [seen.id]
    assert _ids(completed) == [seen.id]
    assert _ids(elsewhere) == []
    assert _ids(by_parent) == [waiting.id, seen.id]  # a parent department includes its sub-departments
    assert _ids(this_week) == [waiting.id]


async def test_the_history_comes_in_pages_and_patients_come_through_one_loader(gql: GraphQLClient) -> None:
    doctor, login = await factories.doctor()
    clinic = await factories.clinic_today(doctor)
    made = [
        await factories.confirmed_booking(clinic, patient_name=f"病人{'甲乙丙丁戊己'[i]}") for i in range(6)
    ]

    with counting_queries() as short:
        two = await gql.as_(login.token).data(HISTORY, {"first": 2})
    with counting_queries() as long:
        five = await gql.as_(login.token).data(HISTORY, {"first": 5})
    rest = await gql.as_(login.token).data(
        HISTORY, {"first": 5, "after": five["myClinicHistory"]["pageInfo"]["endCursor"]}
    )

    newest_first = [b.id for b in reversed(made)]
    assert _ids(two) == newest_first[:2]
    assert _ids(five) + _ids(rest) == newest_first
    assert not rest["myClinicHistory"]["pageInfo"]["hasNextPage"]
    # One batch of patients per page, whatever its length (other statements, such as the token
    # checks, are the request's, not the list's).
    assert _patient_reads(long) == _patient_reads(short) == 1, "\n".join(long)


async def test_patients_and_administrators_cannot_read_a_doctors_history(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()

    refused = await gql.as_(patient.token)(HISTORY)

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
