"""Read side of the queue: the board a TV shows and the view a patient's phone shows, always read
from the database, so a snapshot is the truth and any subscriber that resubscribes converges.

The board is a plain dict: it is what the publisher sends through the broker once per change and
what the GraphQL layer turns into types, so it is rendered once per change, not once per viewer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from models.catalogue import Department, Doctor, Room
from models.clock import utcnow
from models.errors import NotFound
from models.queueing import (
    QueueTicket,
    TicketState,
    department_board,
    queue_order,
    room_board,
    sequence_of,
)
from models.scheduling import Schedule

T = TicketState
BOARD_MESSAGE = "board"


@dataclass(frozen=True, slots=True)
class BoardTicket:
    """What a board shows of a ticket, read as plain values: a room board reads every ticket on it
    at each call, and building ORM objects for a hundred waiting patients was most of a call's CPU."""

    id: int
    label: str
    display_name: str
    state: TicketState
    priority: bool
    priority_at: datetime | None
    rank: int
    late: bool
    returned: bool
    called_at: datetime | None
    call_count: int
    skipped_at: datetime | None
    called_by_doctor_id: int | None


BOARD_TICKET_FIELDS = tuple(BoardTicket.__dataclass_fields__)


def ticket_summary(ticket: BoardTicket) -> dict[str, Any]:
    # Only the masked name ever leaves for a board: it is shown on a TV in a public room.
    return {
        "id": ticket.id,
        "label": ticket.label,
        "patient_name": ticket.display_name,
        "state": ticket.state.value,
        "priority": ticket.priority,
        "late": ticket.late,
        "returned": ticket.returned,
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
        "call_count": ticket.call_count,
    }


def pace_seconds(call_times: list[datetime]) -> float | None:
    """The room's recent pace: mean interval between consecutive calls, None with fewer than two."""
    ordered = sorted(call_times)
    if len(ordered) < 2:
        return None
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(ordered)]
    return sum(gaps) / len(gaps)


async def recent_pace(room_id: int, visit_date: date, sample: int) -> float | None:
    rows = (
        await QueueTicket.filter(room_id=room_id, visit_date=visit_date, called_at__isnull=False)
        .order_by("-called_at")
        .limit(sample + 1)
        .values_list("called_at", flat=True)
    )
    return pace_seconds([value for value in rows if isinstance(value, datetime)])  # type: ignore[misc]


async def _doctor_for(room_id: int, called: BoardTicket | None, now: datetime) -> Doctor | None:
    if called is not None and called.called_by_doctor_id is not None:
        doctor = await Doctor.get_or_none(id=called.called_by_doctor_id)
        if doctor is not None:
            return doctor
    session = (
        await Schedule.filter(room_id=room_id, starts_at__lte=now, ends_at__gte=now)
        .order_by("starts_at")
        .first()
    )
    if session is not None:
        return await Doctor.get_or_none(id=session.doctor_id)
    return await Doctor.filter(room_id=room_id, archived=False).order_by("id").first()


async def load_room_board(
    room_id: int, *, visit_date: date, shown: int, pace_sample: int, seq: int | None = None
) -> dict[str, Any]:
    """`seq`: the number the change being published got in its transaction. A snapshot reads it
    first instead: the tickets read afterwards then hold at least that many changes, so a message
    never shows older state than its number says."""
    sequence = seq if seq is not None else await sequence_of(room_board(room_id))
    room = await Room.get_or_none(id=room_id)
    if room is None:
        raise NotFound("no such room")
    department = await Department.get(id=room.department_id)
    rows = await QueueTicket.filter(room_id=room_id, visit_date=visit_date, state__in=list(_ON_BOARD)).values(
        *BOARD_TICKET_FIELDS
    )
    tickets = [BoardTicket(**row) for row in rows]
    waiting = queue_order(t for t in tickets if t.state is T.WAITING)
    called = sorted(
        (t for t in tickets if t.state is T.CALLED), key=lambda t: (t.called_at or utcnow(), t.id)
    )
    consulting = [t for t in tickets if t.state is T.IN_CONSULTATION]
    skipped = sorted(
        (t for t in tickets if t.state is T.SKIPPED), key=lambda t: (t.skipped_at or utcnow(), t.id)
    )
    done = await QueueTicket.filter(room_id=room_id, visit_date=visit_date, state=T.DONE).count()
    current = called[-1] if called else None
    doctor = await _doctor_for(room_id, current, utcnow())
    return {
        "type": BOARD_MESSAGE,
        "scope": "room",
        "seq": sequence,
        "room": {"id": room.id, "name": room.name, "building": room.building, "floor": room.floor},
        "department": {"id": department.id, "name": department.name},
        "doctor": {"id": doctor.id, "name": doctor.name, "title": doctor.title} if doctor else None,
        "called": ticket_summary(current) if current else None,
        "also_called": [ticket_summary(t) for t in reversed(called[:-1])],
        "in_consultation": [ticket_summary(t) for t in consulting],
        "waiting": [ticket_summary(t) for t in waiting[:shown]],
        "skipped": [ticket_summary(t) for t in skipped],
        "counts": {
            "waiting": len(waiting),
            "called": len(called),
            "in_consultation": len(consulting),
            "skipped": len(skipped),
            "done": done,
        },
        # For patients' phones: their position without one more query per phone.
        "waiting_ids": [t.id for t in waiting],
        "pace_seconds": await recent_pace(room_id, visit_date, pace_sample),
    }


_ON_BOARD = frozenset({T.WAITING, T.CALLED, T.IN_CONSULTATION, T.SKIPPED})


async def load_department_board(
    department_id: int,
    *,
    visit_date: date,
    shown: int,
    pace_sample: int,
    seq: int | None = None,
    rooms_read: Mapping[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`rooms_read`: room boards already read after the change being published (a call reads its
    room's board in its transaction); each is shown as read instead of being read again."""
    known = rooms_read or {}
    sequence = seq if seq is not None else await sequence_of(department_board(department_id))
    department = await Department.get_or_none(id=department_id)
    if department is None:
        raise NotFound("no such department")
    room_ids = (
        await Room.filter(department_id=department_id, archived=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    rooms = [
        known.get(int(rid))  # type: ignore[call-overload]
        or await load_room_board(int(rid), visit_date=visit_date, shown=shown, pace_sample=pace_sample)  # type: ignore[call-overload]
        for rid in room_ids
    ]
    return {
        "type": BOARD_MESSAGE,
        "scope": "department",
        "seq": sequence,
        "department": {"id": department.id, "name": department.name},
        "rooms": rooms,
    }


@dataclass(frozen=True)
class PatientQueueView:
    booking_id: int
    ticket_id: int | None  # None until the patient checks in
    label: str | None
    state: TicketState | None
    room_id: int
    room_name: str
    position: int | None  # 1 = next; None unless waiting
    people_ahead: int | None
    estimated_wait_minutes: int | None
    sequence: int

    @property
    def your_turn(self) -> bool:
        return self.state is T.CALLED

    @property
    def skipped(self) -> bool:
        return self.state is T.SKIPPED

    @property
    def message(self) -> str:
        if self.state is T.CALLED:
            return f"轮到您了，请到{self.room_name}就诊 (your turn: go to {self.room_name})"
        if self.state is T.SKIPPED:
            return "您已过号，请到分诊台恢复排队 (you were skipped: ask the desk to restore you)"
        if self.state is T.WAITING:
            wait = (
                f"，预计约{self.estimated_wait_minutes}分钟"
                if self.estimated_wait_minutes is not None
                else ""
            )
            return f"前面还有{self.people_ahead}位{wait} ({self.people_ahead} ahead of you)"
        if self.state is T.IN_CONSULTATION:
            return "就诊中 (in consultation)"
        if self.state is None:
            return "请到诊区扫码签到 (check in when you arrive)"
        return "本次就诊已结束 (visit finished)"


async def current_ticket(booking_id: int) -> QueueTicket | None:
    live = await QueueTicket.filter(booking_id=booking_id, live_booking_key__isnull=False).first()
    if live is not None:
        return live
    return await QueueTicket.filter(booking_id=booking_id).order_by("-id").first()


# The shortest consultation an estimate assumes: a burst of quick visits (or a doctor clicking through
# no-shows) must never make the patient's screen say "约0分钟" while people are ahead.
MIN_SECONDS_PER_PATIENT = 60


def wait_minutes(people_ahead: int, pace: float | None, default_minutes_per_patient: int) -> int:
    per_patient = pace if pace is not None else timedelta(minutes=default_minutes_per_patient).total_seconds()
    per_patient = max(per_patient, MIN_SECONDS_PER_PATIENT)
    return math.ceil(people_ahead * per_patient / 60)


async def patient_view(
    booking_id: int, *, waiting_room_id: int, default_minutes_per_patient: int, pace_sample: int
) -> PatientQueueView:
    """`waiting_room_id`: the booked room, shown before check-in."""
    ticket = await current_ticket(booking_id)
    room = await Room.get(id=ticket.room_id if ticket else waiting_room_id)
    sequence = await sequence_of(room_board(room.id))
    position: int | None = None
    ahead: int | None = None
    minutes: int | None = None
    if ticket is None:
        return PatientQueueView(booking_id, None, None, None, room.id, room.name, None, None, None, sequence)
    if ticket.state is T.WAITING:
        waiting = queue_order(
            await QueueTicket.filter(room_id=room.id, visit_date=ticket.visit_date, state=T.WAITING)
        )
        ids = [t.id for t in waiting]
        position = ids.index(ticket.id) + 1 if ticket.id in ids else None
        ahead = position - 1 if position is not None else None
        pace = await recent_pace(room.id, ticket.visit_date, pace_sample)
        if ahead is not None:
            minutes = wait_minutes(ahead, pace, default_minutes_per_patient)
    return PatientQueueView(
        booking_id=booking_id,
        ticket_id=ticket.id,
        label=ticket.label,
        state=ticket.state,
        room_id=room.id,
        room_name=room.name,
        position=position,
        people_ahead=ahead,
        estimated_wait_minutes=minutes,
        sequence=sequence,
    )
