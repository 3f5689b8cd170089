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
