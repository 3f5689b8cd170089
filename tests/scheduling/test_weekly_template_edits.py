"""Editing a weekly template: times, capacity, room, registration type and doctor change in place with
an audit entry; a doctor or a room never holds two overlapping templates on one weekday; sessions the
template already generated keep their shape."""

from __future__ import annotations

from typing import Any

from models.audit import AuditEntry
from models.catalogue import Doctor
from models.scheduling import Schedule
from tests import factories
from tests.fixtures.api import GraphQLClient

CREATE = """
mutation($i: CreateWeeklyTemplateInput!) {
  createWeeklyTemplate(input: $i) {
    __typename ... on WeeklyTemplate { id } ... on TemplateOverlaps { what templateId }
  }
}"""
UPDATE = """
mutation($i: UpdateWeeklyTemplateInput!) {
  updateWeeklyTemplate(input: $i) {
    __typename
    ... on WeeklyTemplate { id doctorId roomId registrationTypeId weekday startTime endTime capacity }
    ... on TemplateOverlaps { what templateId code }
    ... on InvalidInputError { field }
  }
}"""
GENERATE = (
    "mutation { generateSchedules(input: {weeks: 1}) { ... on GeneratedSchedules { created { id } } } }"
)


async def _template(gql: GraphQLClient, token: str, doctor: Doctor, **overrides: Any) -> str:
    values = {
        "doctorId": str(doctor.id),
        "registrationTypeId": str((await factories.registration_type(fee=0)).id),
        "roomId": str(doctor.room_id),
        "weekday": 2,
        "startTime": "08:00:00",
        "endTime": "12:00:00",
        "capacity": 8,
        **overrides,
    }
    made = await gql.as_(token).data(CREATE, {"i": values})
    assert made["createWeeklyTemplate"]["__typename"] == "WeeklyTemplate", made
    return str(made["createWeeklyTemplate"]["id"])


async def test_an_edit_changes_the_template_and_is_audited_with_before_and_after(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    doctor, _ = await factories.doctor()
    substitute, _ = await factories.doctor()
    other_room = await factories.room()
    other_type = await factories.registration_type(fee=500)
    template_id = await _template(gql, admin.token, doctor)

    data = await gql.as_(admin.token).data(
        UPDATE,
        {
            "i": {
                "templateId": template_id,
                "doctorId": str(substitute.id),
                "roomId": str(other_room.id),
                "registrationTypeId": str(other_type.id),
                "startTime": "13:30:00",
                "endTime": "17:00:00",
                "capacity": 12,
                "reason": "改为下午出诊",
            }
        },
    )

    assert data["updateWeeklyTemplate"] == {
        "__typename": "WeeklyTemplate",
        "id": template_id,
        "doctorId": str(substitute.id),
        "roomId": str(other_room.id),
        "registrationTypeId": str(other_type.id),
        "weekday": 2,
        "startTime": "13:30:00",
        "endTime": "17:00:00",
        "capacity": 12,
    }
    entry = await AuditEntry.get(action="template.update", target_id=template_id)
    assert entry.actor_id == admin.id
    assert entry.reason == "改为下午出诊"
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["start_minute"], entry.after["start_minute"]) == (480, 810)
    assert (entry.before["doctor_id"], entry.after["doctor_id"]) == (doctor.id, substitute.id)


async def test_an_edit_that_overlaps_the_doctors_or_the_rooms_other_template_is_refused(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    doctor, _ = await factories.doctor()
    colleague, _ = await factories.doctor()
    morning = await _template(gql, admin.token, doctor)
    afternoon = await _template(gql, admin.token, doctor, startTime="13:00:00", endTime="17:00:00")
    elsewhere = await _template(gql, admin.token, colleague)

    into_doctor = await gql.as_(admin.token).data(
        UPDATE, {"i": {"templateId": afternoon, "startTime": "11:00:00", "reason": "提前"}}
    )
    into_room = await gql.as_(admin.token).data(
        UPDATE, {"i": {"templateId": elsewhere, "roomId": str(doctor.room_id), "reason": "换诊室"}}
    )
    other_day = await gql.as_(admin.token).data(
        UPDATE, {"i": {"templateId": afternoon, "weekday": 3, "startTime": "11:00:00", "reason": "改周四"}}
    )
    backwards = await gql.as_(admin.token).data(
        UPDATE, {"i": {"templateId": morning, "endTime": "07:00:00", "reason": "x"}}
    )

    assert into_doctor["updateWeeklyTemplate"] == {
        "__typename": "TemplateOverlaps",
        "what": "doctor",
        "templateId": morning,
        "code": "TEMPLATE_OVERLAPS",
    }
    assert into_room["updateWeeklyTemplate"]["what"] == "room"
    assert into_room["updateWeeklyTemplate"]["templateId"] == morning
    assert other_day["updateWeeklyTemplate"]["__typename"] == "WeeklyTemplate"
    assert backwards["updateWeeklyTemplate"] == {"__typename": "InvalidInputError", "field": "endTime"}
    assert await AuditEntry.filter(action="template.update").count() == 1  # only the accepted edit


async def test_creating_an_overlapping_template_is_refused_too(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    doctor, _ = await factories.doctor()
    first = await _template(gql, admin.token, doctor)

    clash = await gql.as_(admin.token).data(
        CREATE,
        {
            "i": {
                "doctorId": str(doctor.id),
                "registrationTypeId": str((await factories.registration_type()).id),
                "roomId": str((await factories.room()).id),
                "weekday": 2,
                "startTime": "11:30:00",
                "endTime": "12:30:00",
            }
        },
    )

    assert clash["createWeeklyTemplate"] == {
        "__typename": "TemplateOverlaps",
        "what": "doctor",
        "templateId": first,
    }


async def test_sessions_already_generated_keep_their_shape_and_later_ones_follow_the_edit(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    doctor, _ = await factories.doctor()
    template_id = await _template(gql, admin.token, doctor, weekday=0)
    for weekday in range(1, 7):  # one template a day, so one week always generates each weekday once
        await _template(gql, admin.token, doctor, weekday=weekday)
    first = await gql.as_(admin.token).data(GENERATE)
    generated = await Schedule.get(template_key__startswith=f"template:{template_id}:")

    await gql.as_(admin.token).data(
        UPDATE, {"i": {"templateId": template_id, "capacity": 3, "reason": "减号"}}
    )
    await Schedule.filter(id=generated.id).delete()  # as if the week had passed
    await gql.as_(admin.token).data(GENERATE)
    regenerated = await Schedule.get(template_key__startswith=f"template:{template_id}:")

    assert len(first["generateSchedules"]["created"]) == 7
    assert generated.capacity == 8
    assert regenerated.capacity == 3


async def test_a_patient_or_doctor_cannot_edit_templates_and_a_deleted_template_is_not_found(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    doctor, login = await factories.doctor()
    template_id = await _template(gql, admin.token, doctor)
    await gql.as_(admin.token).data(
        "mutation($id: ID!) { deleteWeeklyTemplate(templateId: $id) { __typename } }", {"id": template_id}
    )

    forbidden = await gql.as_(login.token)(UPDATE, {"i": {"templateId": template_id, "reason": "x"}})
    gone = await gql.as_(admin.token).data(UPDATE, {"i": {"templateId": template_id, "reason": "x"}})

    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert gone["updateWeeklyTemplate"]["__typename"] == "NotFoundError"
