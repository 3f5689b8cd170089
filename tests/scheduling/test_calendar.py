"""The clinic calendar: closures (the hospital or a department) are skipped by generation; a worked
weekend (调休) runs a chosen weekday's templates; the background job keeps sessions generated ahead,
once however many processes run it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from gualema.settings import Settings, get_settings
from models.audit import AuditEntry
from models.scheduling import Schedule
from resolvers.scheduling import keep_sessions_generated
from tests import factories
from tests.fixtures.api import GraphQLClient

CLOSE = """
mutation($input: CreateClinicClosureInput!) {
  createClinicClosure(input: $input) { __typename ... on ClinicClosure { id date reason workingWeekday } }
}"""
TEMPLATE = "mutation($i: CreateWeeklyTemplateInput!) { createWeeklyTemplate(input: $i) { __typename } }"
GENERATE = (
    "mutation { generateSchedules(input: {weeks: 2}) { ... on GeneratedSchedules { created { date } } } }"
)


async def _monday_template(gql: GraphQLClient, token: str) -> tuple[int, int]:
    doc, _ = await factories.doctor()
    reg = await factories.registration_type(fee=0)
    await gql.as_(token).data(
        TEMPLATE,
        {
            "i": {
                "doctorId": str(doc.id),
                "registrationTypeId": str(reg.id),
                "roomId": str(doc.room_id),
                "weekday": 0,
                "startTime": "08:00:00",
                "endTime": "12:00:00",
            }
        },
    )
    return doc.id, doc.department_id


def _next(weekday: int, after_days: int = 1) -> str:
    day = datetime.now(get_settings().tz).date() + timedelta(days=after_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day.isoformat()


async def test_closed_days_are_skipped_and_a_worked_weekend_runs_the_chosen_weekday(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    _, department_id = await _monday_template(gql, admin.token)
    holiday = _next(0)  # the first Monday ahead: 国庆节
    saturday = _next(5)  # a Saturday worked as a Monday (调休)
    as_admin = gql.as_(admin.token)

    closed = await as_admin.data(CLOSE, {"input": {"date": holiday, "reason": "国庆节"}})
    worked = await as_admin.data(
        CLOSE,
        {
            "input": {
                "date": saturday,
                "reason": "调休上班",
                "workingWeekday": 0,
                "departmentId": str(department_id),
            }
        },
    )
    created = sorted(s["date"] for s in (await as_admin.data(GENERATE))["generateSchedules"]["created"])

    assert closed["createClinicClosure"]["reason"] == "国庆节"
    assert worked["createClinicClosure"]["workingWeekday"] == 0
    assert holiday not in created
    assert saturday in created
    assert {datetime.fromisoformat(d).weekday() for d in created} <= {0, 5}
    first, last = sorted([holiday, saturday])
    listed = await gql.data(
        "query($f: Date!, $t: Date!) { clinicClosures(from: $f, to: $t) { date } }", {"f": first, "t": last}
    )
    assert sorted(c["date"] for c in listed["clinicClosures"]) == sorted([holiday, saturday])
    assert await AuditEntry.filter(action="calendar.closure").count() == 2


async def test_the_background_job_keeps_sessions_generated_once_across_processes(
    gql: GraphQLClient, settings: Settings
) -> None:
    admin = await factories.admin_user()
    await _monday_template(gql, admin.token)

    # Two processes' jobs at the same moment: each session is created once (its template key).
    made = await asyncio.gather(keep_sessions_generated(settings), keep_sessions_generated(settings))

    weeks = settings.generate_weeks_ahead
    assert sum(made) == await Schedule.all().count() == weeks
