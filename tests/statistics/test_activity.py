"""DAU/MAU: one activity row per account per day, however many requests and processes saw it."""

from __future__ import annotations

from gualema.settings import Settings
from models.clock import utcnow
from models.statistics import activity
from models.statistics.tables import DailyActivity
from resolvers.statistics import flush_activity
from tests import factories
from tests.fixtures.api import GraphQLClient

MY_BOOKINGS = "{ me { id } }"
DAY_KPIS = """
query($day: Date!) {
  kpis(from: $day, to: $day, groupBy: DAY) { ... on KpiTable { rows { activeUsers { value previous } } } }
}"""
MONTH_KPIS = """
query($day: Date!) {
  kpis(from: $day, to: $day, groupBy: MONTH) { ... on KpiTable { rows { activeUsers { value } } } }
}"""


async def test_an_account_using_the_app_all_day_from_two_processes_is_one_daily_user(
    gql: GraphQLClient, settings: Settings
) -> None:
    patient = await factories.patient_user()
    for _ in range(3):
        await gql.as_(patient.token).data(MY_BOOKINGS)
    await flush_activity(settings)
    # A second process has not seen the account yet: it writes the same row again, which is ignored.
    activity.forget()
    await gql.as_(patient.token).data(MY_BOOKINGS)
    await flush_activity(settings)

    today = utcnow().astimezone(settings.tz).date()
    assert await DailyActivity.filter(account_id=patient.account.id).count() == 1

    admin = await factories.admin_user()
    await gql.as_(admin.token).data(MY_BOOKINGS)  # the admin is active too
    await flush_activity(settings)
    everyone_today = await DailyActivity.filter(day=today).count()
    daily = await gql.as_(admin.token).data(DAY_KPIS, {"day": today.isoformat()})
    monthly = await gql.as_(admin.token).data(MONTH_KPIS, {"day": today.isoformat()})
    assert daily["kpis"]["rows"][0]["activeUsers"]["value"] == everyone_today
    assert monthly["kpis"]["rows"][0]["activeUsers"]["value"] >= everyone_today
