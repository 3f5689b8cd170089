"""The clinic calendar: closures (public holidays, a department's day off) and their opposite, extra
working days (调休: a weekend worked with a chosen weekday's templates). Generation reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise import fields
from tortoise.models import Model

from models.errors import InvalidInput


class ClinicClosure(Model):
    # One day of the calendar: closed (working_weekday NULL) or worked as `working_weekday` (0 = Monday).
    # No department: the whole hospital.
    id = fields.IntField(primary_key=True)
    date = fields.DateField(db_index=True)
    department_id = fields.IntField(null=True)
    reason = fields.CharField(max_length=255)
    working_weekday = fields.IntField(null=True)
    created_by = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "clinic_closure"


@dataclass(frozen=True)
class Calendar:
    """The days of a range as generation sees them."""

    closed: frozenset[tuple[date, int | None]]  # (day, department or None for the hospital)
    worked_as: dict[tuple[date, int | None], int]  # (day, department or None) -> weekday

    def is_closed(self, day: date, department_id: int) -> bool:
        return (day, None) in self.closed or (day, department_id) in self.closed

    def weekday_of(self, day: date, department_id: int) -> int:
        worked = self.worked_as.get((day, department_id), self.worked_as.get((day, None)))
        return day.weekday() if worked is None else worked


async def calendar_between(first: date, last: date) -> Calendar:
    rows = await ClinicClosure.filter(date__gte=first, date__lte=last)
    return Calendar(
        closed=frozenset((r.date, r.department_id) for r in rows if r.working_weekday is None),
        worked_as={
            (r.date, r.department_id): r.working_weekday for r in rows if r.working_weekday is not None
        },
    )


async def add_closure(
    day: date, reason: str, *, department_id: int | None, working_weekday: int | None, actor_id: int | None
) -> ClinicClosure:
    if not reason.strip():
        raise InvalidInput("reason", "say why (e.g. 国庆节, 调休上班)")
    if working_weekday is not None and not 0 <= working_weekday <= 6:
        raise InvalidInput("workingWeekday", "0 is Monday, 6 is Sunday")
    return await ClinicClosure.create(
        date=day,
        department_id=department_id,
        reason=reason.strip()[:255],
        working_weekday=working_weekday,
        created_by=actor_id,
    )
