"""Demo sessions (排班): a week of morning and afternoon sessions for every demo doctor, released at
once so the demo is bookable. Idempotent: each session has a natural key (demo:<doctor>:<date>:<period>)
in `template_key`, so a re-run only adds the days that are missing (e.g. the next day of the week)."""

from __future__ import annotations

import sys
from datetime import datetime, time, timedelta

from tortoise.transactions import in_transaction

from gualema.settings import get_settings
from models.catalogue import Doctor, RegistrationType
from models.clock import utcnow
from models.scheduling import ReleaseRule, Schedule, SessionSpec, create_schedule

DAYS = 7
# (period key, start, end, slot minutes, capacity)
SESSIONS: tuple[tuple[str, time, time, int, int], ...] = (
    ("am", time(8, 0), time(12, 0), 30, 16),
    ("pm", time(13, 30), time(17, 30), 30, 12),
)
# 专家号 for senior doctors, 普通号 for the others (names from gualema/demo_hospital.py).
EXPERT_TITLES = ("主任医师", "副主任医师")


async def seed_demo_schedules() -> None:
    settings = get_settings()
    rule = ReleaseRule(tz=settings.tz, days_ahead=settings.release_days_ahead, hour=settings.release_hour)
    types = {row.name: row for row in await RegistrationType.filter(archived=False)}
    if not types:
        return
    fallback = next(iter(types.values()))
    now = utcnow()
    today = datetime.now(settings.tz).date()
    doctors = await Doctor.filter(archived=False, room_id__isnull=False).order_by("id")
    wanted: dict[str, SessionSpec] = {}
    for doctor in doctors:
        assert doctor.room_id is not None  # filtered above
        kind = types.get("专家号" if doctor.title in EXPERT_TITLES else "普通号", fallback)
        for offset in range(DAYS):
            day = today + timedelta(days=offset)
            for period, start, end, slot_minutes, capacity in SESSIONS:
                if datetime.combine(day, start, tzinfo=settings.tz) <= now:
                    continue  # already started: not bookable online anyway
                key = f"demo:{doctor.id}:{day.isoformat()}:{period}"
                wanted[key] = SessionSpec(
                    doctor_id=doctor.id,
                    registration_type_id=kind.id,
                    room_id=doctor.room_id,
                    day=day,
                    start=start,
                    end=end,
                    slot_minutes=slot_minutes,
                    capacity=capacity,
                    release_at=now,  # released already, so the demo can be booked at once
                    template_key=key,
                )
    existing = set(
        await Schedule.filter(template_key__in=list(wanted)).values_list("template_key", flat=True)
    )
    missing = [spec for key, spec in wanted.items() if key not in existing]
    async with in_transaction():
        for spec in missing:
            await create_schedule(spec, rule)
    print(f"demo sessions: {len(missing)} added, {len(existing)} already there", file=sys.stderr)
