"""Weekly templates (每周排班模板) as administrators keep them: validated so that a doctor or a room
never holds two templates that overlap on one weekday, and edited in place. A template only shapes the
sessions generated after the edit: sessions it already made keep their times, room and capacity
(changing those is `updateSchedule`, which tells the booked patients); docs/decisions/230."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time

from models import audit
from models.catalogue import Doctor, RegistrationType, Room
from models.errors import DomainError, InvalidInput, NotFound
from models.schedule_edits import hold_calendars
from models.scheduling import WeeklyTemplate, time_to_minute

TEMPLATE_AUDIT_FIELDS = (
    "doctor_id",
    "registration_type_id",
    "room_id",
    "weekday",
    "start_minute",
    "end_minute",
    "slot_minutes",
    "capacity",
    "active",
)


class TemplateOverlaps(DomainError):
    default_message = "the doctor or the room already has a weekly template at that time"

    def __init__(self, what: str, template_id: int) -> None:
        super().__init__(
            f"the {what} already has weekly template {template_id} at that time",
            what=what,
            template_id=template_id,
        )


@dataclass(frozen=True)
class TemplateShape:
    """Everything a template says; an edit is this shape with some fields replaced."""

    doctor_id: int
    registration_type_id: int
    room_id: int
    weekday: int
    start_minute: int
    end_minute: int
    slot_minutes: int
    capacity: int


@dataclass(frozen=True)
class TemplateEdit:
    doctor_id: int | None = None
    registration_type_id: int | None = None
    room_id: int | None = None
    weekday: int | None = None
    start: time | None = None
    end: time | None = None
    slot_minutes: int | None = None
    capacity: int | None = None


def shape_of(row: WeeklyTemplate) -> TemplateShape:
    return TemplateShape(
        doctor_id=row.doctor_id,
        registration_type_id=row.registration_type_id,
        room_id=row.room_id,
        weekday=row.weekday,
        start_minute=row.start_minute,
        end_minute=row.end_minute,
        slot_minutes=row.slot_minutes,
        capacity=row.capacity,
    )


def edited(shape: TemplateShape, edit: TemplateEdit) -> TemplateShape:
    changes: dict[str, int] = {
        name: value
        for name, value in (
            ("doctor_id", edit.doctor_id),
            ("registration_type_id", edit.registration_type_id),
            ("room_id", edit.room_id),
            ("weekday", edit.weekday),
            ("slot_minutes", edit.slot_minutes),
            ("capacity", edit.capacity),
        )
        if value is not None
    }
    if edit.start is not None:
        changes["start_minute"] = time_to_minute(edit.start)
    if edit.end is not None:
        changes["end_minute"] = time_to_minute(edit.end)
    return replace(shape, **changes)


async def check_template(shape: TemplateShape, *, ignore: int | None = None) -> None:
    """The rules of a template, new or edited, with the field to blame in GraphQL spelling."""
    if not 0 <= shape.weekday <= 6:
        raise InvalidInput("weekday", "0 is Monday, 6 is Sunday")
    if shape.end_minute <= shape.start_minute:
        raise InvalidInput("endTime", "a session ends after it starts")
    if not 5 <= shape.slot_minutes <= 24 * 60:
        raise InvalidInput("slotMinutes", "a slot lasts 5 minutes to a day")
    if not 1 <= shape.capacity <= 10_000:
        raise InvalidInput("capacity", "a session has 1 to 10000 seats")
    if not await Doctor.filter(id=shape.doctor_id, archived=False).exists():
        raise InvalidInput("doctorId", "no such doctor")
    if not await RegistrationType.filter(id=shape.registration_type_id, archived=False).exists():
        raise InvalidInput("registrationTypeId", "no such registration type")
    if not await Room.filter(id=shape.room_id, archived=False).exists():
        raise InvalidInput("roomId", "no such room")
    clashing = WeeklyTemplate.filter(
        active=True,
        weekday=shape.weekday,
        start_minute__lt=shape.end_minute,
        end_minute__gt=shape.start_minute,
    )
    if ignore is not None:
        clashing = clashing.exclude(id=ignore)
    for what, clash in (
        ("doctor", await clashing.filter(doctor_id=shape.doctor_id).order_by("id").first()),
        ("room", await clashing.filter(room_id=shape.room_id).order_by("id").first()),
    ):
        if clash is not None:
            raise TemplateOverlaps(what, clash.id)


async def update_template(
    template_id: int, edit: TemplateEdit, *, actor_id: int | None, reason: str
) -> WeeklyTemplate:
    """Call inside a transaction. The row is locked first, so two edits of one template apply in turn."""
    if not reason.strip():
        raise InvalidInput("reason", "say why the template changes")
    template = await WeeklyTemplate.select_for_update().get_or_none(id=template_id, active=True)
    if template is None:
        raise NotFound("no such template")
    before = audit.snapshot(template, TEMPLATE_AUDIT_FIELDS)
    shape = edited(shape_of(template), edit)
    await hold_calendars(shape.doctor_id, shape.room_id)
    await check_template(shape, ignore=template.id)
    template.update_from_dict(vars(shape))
    await template.save(update_fields=list(vars(shape)))
    await audit.record(
        actor_id,
        "template.update",
        "weekly_template",
        template.id,
        before=before,
        after=audit.snapshot(template, TEMPLATE_AUDIT_FIELDS),
        reason=reason[:255],
    )
    return template
