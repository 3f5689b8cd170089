"""The statistics' own tables: the daily rollup, refused booking attempts and daily activity."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class DailyFigure(Model):
    # One counter of one local day (Asia/Shanghai) for one doctor's sessions in one department.
    # Counters only, never a ratio: every KPI keeps its numerator and denominator. `metric` names its
    # date axis (models/statistics/metrics.py). `shard` spreads the booking rush's increments over a
    # few rows so that bookings of one doctor never queue on one counter row; readers sum the shards.
    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    department_id = fields.IntField()
    doctor_id = fields.IntField()
    metric = fields.CharField(max_length=32)
    shard = fields.SmallIntField(default=0)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "stat_daily"
        unique_together = (("day", "department_id", "doctor_id", "metric", "shard"),)


class DailyActivity(Model):
    # One row per account per local day it used the API (DAU/MAU and retention cohorts).
    id = fields.BigIntField(primary_key=True)
    day = fields.DateField(db_index=True)
    account_id = fields.IntField()

    class Meta:
        table = "stat_activity"
        unique_together = (("account_id", "day"),)


class DailyPayer(Model):
    # One row per account per local day it paid a fee (paying-user ARPU's distinct payers), written
    # with the payment's revenue in its transaction.
    id = fields.BigIntField(primary_key=True)
    day = fields.DateField(db_index=True)
    account_id = fields.IntField()

    class Meta:
        table = "stat_payer"
        unique_together = (("account_id", "day"),)


class StatisticsLease(Model):
    # Who computes a periodic figure for everyone (the dashboard) until when, and what it last
    # published, so another process taking over pushes only a change.
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    holder = fields.CharField(max_length=64, default="")
    until = fields.DatetimeField()
    digest = fields.CharField(max_length=64, default="")
    payload: dict[str, object] | None = fields.JSONField(null=True)

    class Meta:
        table = "stat_lease"


class FrozenFigure(Model):
    # Figures of closed days folded into coarser rows (docs/decisions/257), so a year's kpis reads a
    # few thousand rows instead of every doctor's every day: `kind` says which:
    #   day             hospital-wide counter of one day (department 0, doctor 0)
    #   month           one doctor's counter over one calendar month (`start` its first day)
    #   doctor_day      one doctor's seat refills of one day (models/statistics/refills.py)
    #   accounts_day    distinct accounts of one day in table `metric` (stat_activity or stat_payer)
    #   accounts_week   … of one calendar week (Monday first), accounts_month … of one calendar month
    #   cohort          accounts first active in month `start` that were active in month `metric`
    #                   (month_YYYYMM)
    # Counter rows stay equal to the sums of stat_daily: a change to a frozen day adds to them in its
    # own transaction (models/statistics/frozen.keep_current).
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=16)
    start = fields.DateField()
    department_id = fields.IntField()
    doctor_id = fields.IntField()
    metric = fields.CharField(max_length=32)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "stat_frozen"
        unique_together = (("kind", "start", "department_id", "doctor_id", "metric"),)


class FrozenThrough(Model):
    # The one row (id 1) saying the last day whose figures are in stat_frozen (null: none yet). The
    # freeze holds it for update; a change to a past day holds it for share (its migration creates it).
    id = fields.IntField(primary_key=True, generated=False)
    last_day = fields.DateField(null=True)

    class Meta:
        table = "stat_frozen_through"
