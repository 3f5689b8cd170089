"""The room queue (分诊叫号): one ticket per checked-in booking, its transition table, the ordering
rule and the atomic doctor actions. Every change bumps the room's (and department's) board sequence
in the same transaction, so a subscriber can tell exactly how many changes it has seen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model

from models.booking import Booking, BookingStatus
from models.catalogue import Room
from models.clock import utcnow
from models.errors import DomainError, InvalidTransition, NotFound, writable_updates


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    IN_CONSULTATION = "in_consultation"
    DONE = "done"
    SKIPPED = "skipped"  # 过号: on the missed list until restored
    TRANSFERRED = "transferred"  # replaced by a WAITING ticket in another room


class PriorityReason(StrEnum):
    ELDERLY = "elderly"
    DISABLED = "disabled"
    EMERGENCY = "emergency"


T = TicketState

# The one transition table of the ticket aggregate; `write_state` is the only function that changes
# a ticket's state. Recall is not a transition: a CALLED ticket stays CALLED and its call count grows.
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    T.WAITING: frozenset({T.CALLED, T.TRANSFERRED}),
    T.CALLED: frozenset({T.IN_CONSULTATION, T.SKIPPED, T.TRANSFERRED}),
    # Back to WAITING: the patient returns from tests (回诊) and re-enters near the front.
    T.IN_CONSULTATION: frozenset({T.DONE, T.WAITING, T.TRANSFERRED}),
    T.SKIPPED: frozenset({T.WAITING, T.TRANSFERRED}),
    T.DONE: frozenset(),
    T.TRANSFERRED: frozenset(),
}

# The booking status that goes with each ticket state change (models/reactions.py changes it in the
# same transaction); changes not listed leave the booking alone.
BOOKING_FOLLOWS: dict[tuple[TicketState, TicketState], BookingStatus] = {
    (T.CALLED, T.IN_CONSULTATION): BookingStatus.IN_CONSULTATION,
    (T.IN_CONSULTATION, T.DONE): BookingStatus.COMPLETED,
    (T.IN_CONSULTATION, T.WAITING): BookingStatus.CHECKED_IN,
    (T.IN_CONSULTATION, T.TRANSFERRED): BookingStatus.CHECKED_IN,
}

# A booking has at most one live ticket; DONE and TRANSFERRED tickets are history.
LIVE = frozenset({T.WAITING, T.CALLED, T.IN_CONSULTATION, T.SKIPPED})


def can_change(current: TicketState, target: TicketState) -> bool:
    return target in TRANSITIONS[current]


class QueueTicket(Model):
    id = fields.IntField(primary_key=True)
    booking_id: int
    room_id: int
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="queue_tickets", on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="queue_tickets", on_delete=fields.RESTRICT
    )
    department_id = fields.IntField(db_index=True)
    account_id = fields.IntField(db_index=True)  # the booking's owner: scopes the patient's view
    visit_date = fields.DateField(db_index=True)
    label = fields.CharField(max_length=12)  # A012: department prefix + booked number
    number = fields.IntField()  # the booked sequence number (Booking.queue_number)
    display_name = fields.CharField(max_length=64)  # already masked (张*三): all a TV may show
    state = fields.CharEnumField(TicketState, max_length=20, db_index=True)
    # Sort position among non-priority waiting tickets; see `queue_order` and decision 062.
    rank = fields.BigIntField()
    priority = fields.BooleanField(default=False)
    priority_reason = fields.CharEnumField(PriorityReason, max_length=16, null=True)
    priority_note = fields.CharField(max_length=255, default="")
    priority_at = fields.DatetimeField(null=True)
    late = fields.BooleanField(default=False)
    returned = fields.BooleanField(default=False)  # 回诊
    restored = fields.BooleanField(default=False)
    checked_in_at = fields.DatetimeField()
    called_at = fields.DatetimeField(null=True)
    call_count = fields.IntField(default=0)
    called_by_doctor_id = fields.IntField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    skipped_at = fields.DatetimeField(null=True)
    transferred_to_id = fields.IntField(null=True)
    # Set to the booking id while the ticket is live, NULL afterwards: a unique index that ignores
    # NULLs makes "one live ticket per booking" hold on every database, even for concurrent check-ins.
    live_booking_key = fields.IntField(null=True, unique=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "queue_ticket"


class QueueBoardState(Model):
    # One row per board ("room:7", "department:3"): the number of changes made to it so far.
    id = fields.IntField(primary_key=True)
    board = fields.CharField(max_length=40, unique=True)
    sequence = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "queue_board_state"


# -- expected failures


class NothingToCall(DomainError):
    default_message = "nobody is waiting in this room"


class AlreadyCheckedIn(DomainError):
    default_message = "this booking is already checked in"


# -- board keys and channels


def room_board(room_id: int) -> str:
    return f"room:{room_id}"


def department_board(department_id: int) -> str:
    return f"department:{department_id}"


def channel_for(board: str) -> str:
    return f"queue:{board}"


# -- the ordering rule (pure)

RANK_STEP = 1000  # room for re-entries between two booked numbers
LATE_BASE = 10**13  # above every on-time rank (booked numbers stay far below 10**10)


class Orderable(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def rank(self) -> int: ...
    @property
    def priority(self) -> bool: ...
    @property
    def priority_at(self) -> datetime | None: ...


Ticket = TypeVar("Ticket", bound=Orderable)


@dataclass(frozen=True)
class QueueRules:
    returned_after: int = 2  # a 回诊 patient re-enters behind this many waiting patients
    restored_after: int = 3  # a restored 过号 patient re-enters behind this many
    transferred_after: int = 2  # a patient transferred in enters behind this many


def checkin_rank(number: int, *, late: bool, checked_in_at: datetime) -> int:
    """On time: by booked number. Late (after the slot ended): behind everyone on time, by arrival."""
    if not late:
        return number * RANK_STEP
    return LATE_BASE + int(checked_in_at.timestamp()) * RANK_STEP


def reentry_rank(waiting_in_order: Sequence[Orderable], places: int) -> int:
    """A rank just behind the `places`-th non-priority waiting ticket (at the end when fewer wait).

    The rank is fixed at entry, so the patient moves forward as others are called instead of
    staying `places` behind forever.
    """
    regular = [ticket.rank for ticket in waiting_in_order if not ticket.priority]
    if not regular:
        return RANK_STEP
    if places <= 0:
        return regular[0] - 1
    anchor = regular[min(places, len(regular)) - 1]
    return anchor + 1


def sort_key(ticket: Orderable) -> tuple[int, float, int, int]:
    # Priority first (in the order staff flagged them), then by rank; ties by entry order (id).
    if ticket.priority:
        flagged = ticket.priority_at.timestamp() if ticket.priority_at else 0.0
        return (0, flagged, 0, ticket.id)
    return (1, 0.0, ticket.rank, ticket.id)


def queue_order(tickets: Iterable[Ticket]) -> list[Ticket]:
    return sorted(tickets, key=sort_key)


# -- the one state writer


@dataclass(frozen=True)
class TicketChanged:
    """One ticket entering a state, for models/reactions.py (the booking follows: BOOKING_FOLLOWS)."""

    ticket_id: int
    booking_id: int
    room_id: int
    from_state: TicketState
    to_state: TicketState
    actor_id: int | None
    at: datetime


async def write_state(
    ticket: QueueTicket,
    target: TicketState,
    *,
    actor_id: int | None,
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketChanged:
    """The only function that changes a ticket's state. Call inside a transaction.

    A conditional UPDATE on the current state makes the change exactly-once across processes: of two
    doctors completing the same ticket, the second gets InvalidTransition.
    """
    current = ticket.state
    if not can_change(current, target):
        raise InvalidTransition("ticket", current.value, target.value)
    now = at or utcnow()
    values: dict[str, Any] = {"updated_at": now, **writable_updates(updates, state_column="state")}
    if target not in LIVE:
        values["live_booking_key"] = None
    values["state"] = target  # last: nothing above may set it
    changed = await QueueTicket.filter(id=ticket.id, state=current).update(**values)
    if changed != 1:
        fresh = await QueueTicket.get(id=ticket.id)
        raise InvalidTransition("ticket", fresh.state.value, target.value)
    for key, value in values.items():
        setattr(ticket, key, value)
    return TicketChanged(
        ticket.id,
        ticket.booking_id,
        ticket.room_id,
        current,
        target,
        actor_id,
        now,
    )


# -- board sequences


async def ensure_boards(*boards: str) -> None:
    """Create missing board rows outside any transaction (a failed INSERT would abort a PostgreSQL one)."""
    for board in boards:
        if await QueueBoardState.filter(board=board).exists():
            continue
        with contextlib.suppress(IntegrityError):  # another process created it first
            await QueueBoardState.create(board=board, sequence=0)


async def bump(boards: Iterable[str]) -> dict[str, int]:
    """Count one change on each board. Call first in the transaction: the row locks taken here
    (in a fixed order, so two transactions never deadlock) serialise the changes of a room, which
    makes the sequence order the commit order."""
    sequences: dict[str, int] = {}
    for board in sorted(set(boards)):
        changed = await QueueBoardState.filter(board=board).update(sequence=F("sequence") + 1)
        if changed != 1:
            raise RuntimeError(f"board {board} has no state row; call ensure_boards first")
        row = await QueueBoardState.get(board=board)
        sequences[board] = int(row.sequence)
    return sequences


async def sequence_of(board: str) -> int:
    row = await QueueBoardState.get_or_none(board=board)
    return int(row.sequence) if row else 0


# -- atomic actions (each runs inside the caller's transaction, after `bump`)


async def waiting_in_order(room_id: int, visit_date: object) -> list[QueueTicket]:
    rows = await QueueTicket.filter(room_id=room_id, visit_date=visit_date, state=T.WAITING)
    return queue_order(rows)


def ticket_label(prefix: str, number: int) -> str:
    return f"{prefix}{number:03d}"


async def open_ticket(
    booking: Booking,
    *,
    room_id: int,
    label: str,
    display_name: str,
    late: bool,
    now: datetime,
) -> QueueTicket:
    try:
        return await QueueTicket.create(
            booking_id=booking.id,
            room_id=room_id,
            department_id=booking.department_id,
            account_id=booking.account_id,
            visit_date=booking.visit_date,
            label=label,
            number=booking.queue_number,
            display_name=display_name,
            state=T.WAITING,
            rank=checkin_rank(booking.queue_number, late=late, checked_in_at=now),
            late=late,
            checked_in_at=now,
            live_booking_key=booking.id,
        )
    except IntegrityError:
        raise AlreadyCheckedIn() from None


async def recall(ticket: QueueTicket, *, now: datetime) -> QueueTicket:
    changed = await QueueTicket.filter(id=ticket.id, state=T.CALLED).update(
        called_at=now, call_count=F("call_count") + 1, updated_at=now
    )
    if changed != 1:
        fresh = await QueueTicket.get(id=ticket.id)
        raise InvalidTransition("ticket", fresh.state.value, T.CALLED.value)
    return await QueueTicket.get(id=ticket.id)


async def set_priority(
    ticket: QueueTicket, reason: PriorityReason, note: str, *, now: datetime
) -> QueueTicket:
    changed = await QueueTicket.filter(id=ticket.id, state__in=list(LIVE)).update(
        priority=True, priority_reason=reason, priority_note=note[:255], priority_at=now, updated_at=now
    )
    if changed != 1:
        raise InvalidTransition("ticket", ticket.state.value, "priority")
    return await QueueTicket.get(id=ticket.id)


async def get_ticket(ticket_id: int) -> QueueTicket:
    ticket = await QueueTicket.get_or_none(id=ticket_id)
    if ticket is None:
        raise NotFound("no such queue ticket")
    return ticket
