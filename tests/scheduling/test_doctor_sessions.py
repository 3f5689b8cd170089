"""A doctor's own tools: their sessions across profiles (today or history) and stopping their own
session when the hospital allows it (otherwise an administrator does)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gualema.settings import Settings, get_settings
from tests import factories
from tests.fixtures.api import GraphQLClient

MINE = "query($f: Date!, $t: Date!) { mySessions(dateFrom: $f, dateTo: $t) { id status } }"
STOP = """
mutation($i: StopScheduleInput!) {
  stopMySession(input: $i) { __typename ... on Schedule { status } ... on Error { message } }
}"""


async def test_a_doctor_sees_only_their_sessions_today_and_in_the_past(gql: GraphQLClient) -> None:
    doctor, login = await factories.doctor()
    mine = await factories.clinic_today(doctor)
    await factories.clinic_today()  # another doctor's
    today = datetime.now(get_settings().tz).date()

    data = await gql.as_(login.token).data(MINE, {"f": today.isoformat(), "t": today.isoformat()})
    past = await gql.as_(login.token).data(
        MINE, {"f": (today - timedelta(days=30)).isoformat(), "t": (today - timedelta(days=1)).isoformat()}
    )

    assert data["mySessions"] == [{"id": str(mine.id), "status": "OPEN"}]
    assert past["mySessions"] == []


async def test_a_doctor_stops_their_own_session_only_when_the_hospital_allows_it(
    gql: GraphQLClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    doctor, login = await factories.doctor()
    session = await factories.session(capacity=2, doctor_row=doctor)
    stranger = await factories.session(capacity=2)
    variables = {"i": {"scheduleId": str(session.id), "reason": "发热"}}

    refused = await gql.as_(login.token).data(STOP, variables)
    monkeypatch.setattr(settings, "doctor_may_stop_own_session", True)
    stopped = await gql.as_(login.token).data(STOP, variables)
    not_mine = await gql.as_(login.token).data(STOP, {"i": {"scheduleId": str(stranger.id), "reason": "x"}})

    assert refused["stopMySession"]["__typename"] == "NotAllowedError"
    assert stopped["stopMySession"] == {"__typename": "Schedule", "status": "STOPPED"}
    assert not_mine["stopMySession"]["__typename"] == "NotFoundError"
