from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Period(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    CUSTOM = "custom"


class ScheduleStatus(StrEnum):
    OPEN = "open"
    STOPPED = "stopped"  # 停诊


class Schedule(Model):
    # One clinic session (排班) of a doctor: a date, a period, a room, a registration type.
    id = fields.IntField(primary_key=True)
    doctor: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Doctor", related_name="schedules", on_delete=fields.RESTRICT
    )
    department: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Department", related_name="schedules", on_delete=fields.RESTRICT
    )
    registration_type: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.RegistrationType", related_name="schedules", on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Room", related_name="schedules", on_delete=fields.RESTRICT
    )
    date = fields.DateField(db_index=True)
    period = fields.CharEnumField(Period, max_length=16)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    slot_minutes = fields.IntField()
    capacity = fields.IntField()
    fee = fields.IntField()  # fen, copied from the registration type when the session is created
    release_at = fields.DatetimeField(db_index=True)
    status = fields.CharEnumField(ScheduleStatus, max_length=16, default=ScheduleStatus.OPEN)
    stop_reason = fields.CharField(max_length=255, default="")
    next_number = fields.IntField(default=1)  # the next queue number of this session
    template_key = fields.CharField(max_length=64, null=True, unique=True)  # idempotent generation
    no_shows_swept = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "schedule"


class Slot(Model):
    # A time slot (分时段) of a session with its own capacity and live remaining count.
    id = fields.IntField(primary_key=True)
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="slots", on_delete=fields.CASCADE
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    capacity = fields.IntField()
    remaining = fields.IntField()

    class Meta:
        table = "slot"


class CapacityChange(Model):
    # 加号: extra capacity, with who and why.
    id = fields.IntField(primary_key=True)
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="capacity_changes", on_delete=fields.CASCADE
    )
    slot_id = fields.IntField(null=True)
    added = fields.IntField()
    actor_id = fields.IntField(null=True)
    reason = fields.CharField(max_length=255)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "capacity_change"


class WeeklyTemplate(Model):
    # A weekly rule that generates sessions N weeks ahead.
    id = fields.IntField(primary_key=True)
    doctor: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Doctor", related_name="templates", on_delete=fields.CASCADE
    )
    registration_type: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.RegistrationType", related_name="templates", on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Room", related_name="templates", on_delete=fields.RESTRICT
    )
    weekday = fields.IntField()  # 0 = Monday
    start_time = fields.TimeField()
    end_time = fields.TimeField()
    slot_minutes = fields.IntField()
    capacity = fields.IntField()
    active = fields.BooleanField(default=True)

    class Meta:
        table = "weekly_template"
