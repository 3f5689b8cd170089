from __future__ import annotations

from datetime import timedelta

from gualema.settings import Settings
from models.waitlist import WaitlistEntry, WaitlistStatus
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.waitlist.scenario import LEAVE, full_session, join, person


async def test_a_patient_joins_a_full_session_and_sees_their_position(gql: GraphQLClient) -> None:
    schedule, _, _ = await full_session(gql, seats=2)
    first, second = await person("甲"), await person("乙")

    one = await join(gql, first, scheduleId=str(schedule.id))
    two = await join(gql, second, scheduleId=str(schedule.id))

    assert (one["__typename"], one["status"], one["position"]) == ("WaitlistEntry", "WAITING", 1)
    assert (two["status"], two["position"]) == ("WAITING", 2)


async def test_joining_while_seats_exist_says_so(gql: GraphQLClient) -> None:
    schedule = await factories.session(capacity=3, starts_in=timedelta(days=3))
    who = await person()
    result = await join(gql, who, scheduleId=str(schedule.id))
    assert result == {
        "__typename": "SeatsAvailable",
        "message": "seats are still available: book one instead of joining the waitlist",
    }


async def test_joining_twice_and_past_the_account_limit_are_typed_errors(
    gql: GraphQLClient, settings: Settings
) -> None:
    who = await person()
    for _ in range(settings.waitlist_max_entries):
        schedule, _, _ = await full_session(gql, seats=1)
        assert (await join(gql, who, scheduleId=str(schedule.id)))["__typename"] == "WaitlistEntry"
    again = await join(gql, who, scheduleId=str(schedule.id))
    assert again["__typename"] == "AlreadyWaiting"

    another, _, _ = await full_session(gql, seats=1)
    over = await join(gql, who, scheduleId=str(another.id))
    assert over["__typename"] == "WaitlistLimitReached"


async def test_a_department_wide_entry_needs_every_matching_session_full(gql: GraphQLClient) -> None:
    full, _, _ = await full_session(gql, seats=1)
    who = await person()
    result = await join(gql, who, departmentId=str(full.department_id), date=full.date.isoformat())
    assert result["__typename"] == "WaitlistEntry"
    entry = await WaitlistEntry.get(id=int(result["id"]))
    assert entry.schedule_id is None
    assert entry.department_id == full.department_id


async def test_someone_elses_patient_cannot_join_and_nobody_leaves_anothers_entry(gql: GraphQLClient) -> None:
    schedule, _, _ = await full_session(gql, seats=1)
    owner, stranger = await person("主"), await person("外")
    borrowed = await gql.as_(stranger.actor.token).data(
        """mutation($input: JoinWaitlistInput!) { joinWaitlist(input: $input) { __typename } }""",
        {"input": {"patientId": str(owner.patient_id), "scheduleId": str(schedule.id)}},
    )
    assert borrowed["joinWaitlist"]["__typename"] == "NotFoundError"

    mine = await join(gql, owner, scheduleId=str(schedule.id))
    stolen = await gql.as_(stranger.actor.token).data(LEAVE, {"id": mine["id"]})
    assert stolen["leaveWaitlist"]["__typename"] == "NotFoundError"
    left = await gql.as_(owner.actor.token).data(LEAVE, {"id": mine["id"]})
    assert left["leaveWaitlist"] == {"__typename": "WaitlistEntry", "id": mine["id"], "status": "LEFT"}
    assert (await WaitlistEntry.get(id=int(mine["id"]))).status is WaitlistStatus.LEFT


async def test_the_waitlist_stats_count_waiters_and_serve_admins_only(gql: GraphQLClient) -> None:
    schedule, _, _ = await full_session(gql, seats=1)
    await join(gql, await person(), scheduleId=str(schedule.id))
    query = """query($s: ID) {
      waitlistStats(scheduleId: $s) { __typename ... on WaitlistStats { waited served } }
    }"""
    admin = await factories.admin_user()
    stats = await gql.as_(admin.token).data(query, {"s": str(schedule.id)})
    assert stats["waitlistStats"] == {"__typename": "WaitlistStats", "waited": 1, "served": 0}

    patient = await factories.patient_user()
    refused = await gql.as_(patient.token)(query, {"s": str(schedule.id)})
    assert refused["errors"][0]["message"] == "only an administrator may do this"
