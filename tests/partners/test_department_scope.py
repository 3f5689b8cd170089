"""A key scoped to departments reads only their data, whatever the document asks (decision 220).

Given departments A (with sub-department A1) and B, each with a doctor, a room and a session, a key
scoped to A sees A and A1 through every public list and by-id field, and B nowhere: omitting the
`departmentId` variable or reaching B through another field does not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from models.calendar import ClinicClosure
from models.catalogue import Department, Doctor
from models.scheduling import Schedule
from tests import factories
from tests.partners.conftest import Partner, PartnerDesk, document_id, new_application

TREE = "query Tree { departments { id children { id doctors { id } } doctors { id } rooms { id } } }"
DEPARTMENT = "query Department($id: ID!) { department(id: $id) { id parent { id } children { id } } }"
DOCTORS = "query Doctors($departmentId: ID) { doctors(departmentId: $departmentId) { id department { id } } }"
DOCTOR = "query Doctor($id: ID!) { doctor(id: $id) { id department { id } room { id } } }"
ROOMS = "query Rooms { rooms { id department { id } } }"
SCHEDULES = (
    "query Schedules($from: Date!, $to: Date!) "
    "{ schedules(dateFrom: $from, dateTo: $to) { id departmentId slots { id } } }"
)
SCHEDULE = "query Schedule($id: ID!) { schedule(id: $id) { id departmentId } }"
CLOSURES = (
    "query Closures($from: Date!, $to: Date!) { clinicClosures(from: $from, to: $to) { departmentId } }"
)
BOOKINGS = "query Bookings { bookings { edges { node { id } } } }"
KPIS = (
    "query Kpis($from: Date!, $to: Date!) { kpis(from: $from, to: $to, groupBy: DEPARTMENT) { __typename } }"
)
EVERY_DOCUMENT = (TREE, DEPARTMENT, DOCTORS, DOCTOR, ROOMS, SCHEDULES, SCHEDULE, CLOSURES, BOOKINGS, KPIS)


@dataclass
class Hospital:
    a: Department
    a1: Department
    b: Department
    doctors: dict[str, Doctor]
    sessions: dict[str, Schedule]

    def ids(self, *names: str) -> set[str]:
        return {str(getattr(self, name).id) for name in names}


async def hospital_of_three_departments() -> Hospital:
    a = await factories.department()
    a1 = await factories.department(parent=a)
    b = await factories.department()
    doctors = {name: (await factories.doctor(dept))[0] for name, dept in (("a", a), ("a1", a1), ("b", b))}
    sessions = {name: await factories.session(doctor_row=doctor) for name, doctor in doctors.items()}
    for department in (a, b, None):
        await ClinicClosure.create(
            date=sessions["a"].date + timedelta(days=30),
            department_id=department.id if department else None,
            reason="院庆",
        )
    return Hospital(a, a1, b, doctors, sessions)


async def run(
    http: httpx.AsyncClient,
    partner: Partner,
    body: str,
    variables: dict[str, str] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"documentId": document_id(body), "variables": variables or {}},
        headers={**partner.headers, "Accept-Language": "en"},
    )
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def data(http: httpx.AsyncClient, partner: Partner, body: str, **variables: str) -> dict[str, Any]:
    answer = await run(http, partner, body, variables)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]
    return result


async def scoped_key(desk: PartnerDesk, *departments: Department) -> Partner:
    app = new_application()
    await desk.manifest(app, *EVERY_DOCUMENT)
    return await desk.key(app, departmentIds=[str(d.id) for d in departments])


def doctor_ids(hospital: Hospital, *names: str) -> set[str]:
    return {str(hospital.doctors[name].id) for name in names}


def session_ids(hospital: Hospital, *names: str) -> set[str]:
    return {str(hospital.sessions[name].id) for name in names}


async def test_a_key_scoped_to_a_department_lists_only_it_and_its_sub_departments(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    hospital = await hospital_of_three_departments()
    partner = await scoped_key(desk, hospital.a)
    day = hospital.sessions["a"].date
    span = {"from": (day - timedelta(days=1)).isoformat(), "to": (day + timedelta(days=40)).isoformat()}

    tree = (await data(http, partner, TREE))["departments"]
    doctors = (await data(http, partner, DOCTORS))["doctors"]
    rooms = (await data(http, partner, ROOMS))["rooms"]
    schedules = (await data(http, partner, SCHEDULES, **span))["schedules"]
    closures = (await data(http, partner, CLOSURES, **span))["clinicClosures"]

    assert [top["id"] for top in tree] == [str(hospital.a.id)]
    assert tree[0]["children"] == [
        {"id": str(hospital.a1.id), "doctors": [{"id": str(hospital.doctors["a1"].id)}]}
    ]
    assert {d["id"] for d in doctors} == doctor_ids(hospital, "a", "a1")
    assert {r["department"]["id"] for r in rooms} == hospital.ids("a", "a1")
    assert {s["id"] for s in schedules} == session_ids(hospital, "a", "a1")
    assert all(s["slots"] for s in schedules)
    assert sorted(c["departmentId"] or "" for c in closures) == sorted(["", str(hospital.a.id)])


async def test_an_out_of_scope_object_fetched_by_id_is_not_found(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    hospital = await hospital_of_three_departments()
    partner = await scoped_key(desk, hospital.a)

    department_b = await data(http, partner, DEPARTMENT, id=str(hospital.b.id))
    doctor_b = await data(http, partner, DOCTOR, id=str(hospital.doctors["b"].id))
    session_b = await data(http, partner, SCHEDULE, id=str(hospital.sessions["b"].id))
    doctor_a1 = await data(http, partner, DOCTOR, id=str(hospital.doctors["a1"].id))
    session_a1 = await data(http, partner, SCHEDULE, id=str(hospital.sessions["a1"].id))

    assert department_b == {"department": None}
    assert doctor_b == {"doctor": None}
    assert session_b == {"schedule": None}
    assert doctor_a1["doctor"]["department"] == {"id": str(hospital.a1.id)}
    assert session_a1 == {
        "schedule": {"id": str(hospital.sessions["a1"].id), "departmentId": str(hospital.a1.id)}
    }


async def test_a_key_scoped_to_a_sub_department_sees_it_at_the_top_without_its_parent(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    hospital = await hospital_of_three_departments()
    partner = await scoped_key(desk, hospital.a1)

    tree = (await data(http, partner, TREE))["departments"]
    a1 = await data(http, partner, DEPARTMENT, id=str(hospital.a1.id))
    a = await data(http, partner, DEPARTMENT, id=str(hospital.a.id))
    doctors_of_a = await data(http, partner, DOCTORS, departmentId=str(hospital.a1.id))

    assert [top["id"] for top in tree] == [str(hospital.a1.id)]
    assert a1 == {"department": {"id": str(hospital.a1.id), "parent": None, "children": []}}
    assert a == {"department": None}
    assert {d["id"] for d in doctors_of_a["doctors"]} == doctor_ids(hospital, "a1")


async def test_a_variable_naming_a_sub_department_of_the_scope_is_let_through(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    hospital = await hospital_of_three_departments()
    partner = await scoped_key(desk, hospital.a)

    doctors_of_a1 = await data(http, partner, DOCTORS, departmentId=str(hospital.a1.id))
    refused = await run(http, partner, DOCTORS, {"departmentId": str(hospital.b.id)}, status=403)

    assert {d["id"] for d in doctors_of_a1["doctors"]} == doctor_ids(hospital, "a1")
    assert refused["errors"][0]["extensions"]["code"] == "DEPARTMENT_NOT_ALLOWED"


async def test_an_unscoped_key_sees_every_department(http: httpx.AsyncClient, desk: PartnerDesk) -> None:
    hospital = await hospital_of_three_departments()
    partner = await scoped_key(desk)

    doctors = (await data(http, partner, DOCTORS))["doctors"]
    department_b = await data(http, partner, DEPARTMENT, id=str(hospital.b.id))

    assert doctor_ids(hospital, "a", "a1", "b") <= {d["id"] for d in doctors}
    assert department_b["department"]["id"] == str(hospital.b.id)


async def test_bookings_and_statistics_are_closed_to_every_key(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    hospital = await hospital_of_three_departments()
    partner = await scoped_key(desk, hospital.a)
    day = hospital.sessions["a"].date.isoformat()

    bookings = await run(http, partner, BOOKINGS)
    kpis = await run(http, partner, KPIS, {"from": day, "to": day})

    assert bookings["data"] is None
    assert bookings["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert kpis["data"] is None
    assert kpis["errors"][0]["extensions"]["code"] == "FORBIDDEN"
