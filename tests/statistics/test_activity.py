"""DAU/MAU: one activity row per account per day, however many requests and processes saw it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

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


COHORTS = """
query($from: Date!, $to: Date!) {
  kpis(from: $from, to: $to, groupBy: MONTH) {
    ... on KpiTable {
      rows {
        period
        payingArpu { numerator denominator }
        retention { monthsLater numerator denominator value previous { numerator denominator } }
      }
    }
  }
}"""


def month_start(day: date, back: int) -> date:
    month = day.year * 12 + day.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


async def test_monthly_retention_cohorts_are_the_accounts_first_active_in_a_month_active_later(
    gql: GraphQLClient, settings: Settings
) -> None:
    # Given five accounts first active two months ago, three of them active last month and one of
    # those this month too, and two accounts first active last month, one of them active this month:
    today = utcnow().astimezone(settings.tz).date()
    two_ago, one_ago, this = (month_start(today, back) for back in (2, 1, 0))
    early = [(await factories.patient_user()).account.id for _ in range(5)]
    later = [(await factories.patient_user()).account.id for _ in range(2)]
    days = [(who, two_ago + timedelta(days=3)) for who in early]
    days += [(who, one_ago + timedelta(days=n)) for n, who in enumerate(early[:3])]
    days += [(early[0], this), (later[1], this)]
    days += [(who, one_ago + timedelta(days=9)) for who in later]
    await DailyActivity.bulk_create([DailyActivity(account_id=who, day=day) for who, day in days])

    admin = await factories.admin_user()
    data = await gql.as_(admin.token).data(COHORTS, {"from": two_ago.isoformat(), "to": today.isoformat()})

    # Then each month's row carries its cohort's retention, recomputed here from every activity row
    # (other scenarios' accounts included).
    expected = await cohorts_from_activity_rows(today)
    rows = {row["period"]: row for row in data["kpis"]["rows"]}
    assert sorted(rows) == [m.strftime("%Y-%m") for m in (two_ago, one_ago, this)]
    for start in (two_ago, one_ago, this):
        accounts, later_months = expected.get(start, (0, []))
        retention = rows[start.strftime("%Y-%m")]["retention"]
        assert [(r["monthsLater"], r["numerator"], r["denominator"]) for r in retention] == [
            (n + 1, active, accounts) for n, active in enumerate(later_months)
        ]
    first = rows[two_ago.strftime("%Y-%m")]["retention"]
    assert first[0]["numerator"] >= 3  # our three at least (others may have joined that month)
    assert rows[this.strftime("%Y-%m")]["retention"] == []
    assert rows[one_ago.strftime("%Y-%m")]["retention"][0]["previous"] == {
        "numerator": first[0]["numerator"],
        "denominator": first[0]["denominator"],
    }
    assert rows[this.strftime("%Y-%m")]["payingArpu"] is not None


async def cohorts_from_activity_rows(last: date) -> dict[date, tuple[int, list[int]]]:
    months: dict[int, set[date]] = defaultdict(set)
    for who, day in await DailyActivity.filter(day__lte=last).values_list("account_id", "day"):
        months[who].add(date(day.year, day.month, 1))
    out: dict[date, tuple[int, list[int]]] = {}
    firsts = {who: min(active) for who, active in months.items()}
    for start in sorted(set(firsts.values())):
        members = [who for who, first in firsts.items() if first == start]
        later, cursor = [], month_start(start, -1)
        while cursor <= last:
            later.append(sum(1 for who in members if cursor in months[who]))
            cursor = month_start(cursor, -1)
        out[start] = (len(members), later)
    return out
