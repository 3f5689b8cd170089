"""Queue use cases: check-in, doctor actions, and the board and patient streams.

Every change runs in one transaction that first bumps the board sequences (serialising a room's
changes), then changes the ticket and the booking; the new boards are read and published only
after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from graphql import GraphQLError
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models import queue_board
from models.accounts import IdKind, Patient, reveal_id_number
from models.booking import Booking, BookingStatus
from models.catalogue import Department, Doctor, Room
from models.checkin_codes import InvalidCheckInCode, verify_code
from models.clock import utcnow
from models.errors import DomainError, InvalidTransition, NotAllowed, NotFound
from models.identity import age_on, birth_date, mask_name
from models.queue_calls import call_next, restore, return_after_tests, transfer
from models.queueing import (
    AlreadyCheckedIn,
    PriorityReason,
    QueueRules,
    QueueTicket,
    TicketState,
    bump,
    channel_for,
    department_board,
    ensure_boards,
    get_ticket,
    open_ticket,
    recall,
    room_board,
    sequence_of,
    set_priority,
    ticket_label,
)
from models.reactions import change_booking, change_ticket
from models.scheduling import Schedule
from realtime.broker import Broker, get_broker
from realtime.messages import is_resync
from realtime.ordered import Sequenced, sequenced
from realtime.single_flight import SingleFlight
from resolvers.context import Context

log = logging.getLogger("gualema.queueing")

T = TicketState
X = TypeVar("X")


class WrongCheckInPlace(DomainError):
    default_message = "this code belongs to another room or department than your booking"


class CheckInNotOpen(DomainError):
    default_message = "check-in for this booking has not opened yet"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(f"check-in opens at {opens_at.isoformat()}", opens_at=opens_at)


class CheckInClosed(DomainError):
    default_message = "check-in for this booking has closed; please ask the desk"


def queue_rules(context: Context) -> QueueRules:
    settings = context.settings
    return QueueRules(
        returned_after=settings.queue_returned_after,
        restored_after=settings.queue_restored_after,
        transferred_after=settings.queue_transferred_after,
    )


def today(context: Context) -> date:
    return utcnow().astimezone(context.settings.tz).date()


# -- check-in


async def check_in(context: Context, booking_id: int, code: str) -> QueueTicket:
    signed = verify_code(code, secret=context.settings.secret_key.get_secret_value())
    if signed.kind not in {"room", "department"}:
        raise InvalidCheckInCode()
    booking = await Booking.get_or_none(id=booking_id, account_id=context.viewer.account_id)
    if booking is None:
        raise NotFound("no such booking")
    schedule = await Schedule.get(id=booking.schedule_id)
    if signed.kind == "room" and signed.id != schedule.room_id:
        raise WrongCheckInPlace()
    if signed.kind == "department" and not await _department_covers(signed.id, booking.department_id):
        raise WrongCheckInPlace()
    return await _check_in(context, booking, schedule)


async def check_in_by_staff(context: Context, booking_id: int) -> QueueTicket:
    booking = await Booking.get_or_none(id=booking_id)
    if booking is None:
        raise NotFound("no such booking")
    schedule = await Schedule.get(id=booking.schedule_id)
    # Only the doctors who serve the booking's room (or an administrator at a desk): a doctor of
    # another room gets the same answer as for an unknown booking, telling nothing about it.
    try:
        await _acting_doctor(context, schedule.room_id)
    except NotAllowed:
        raise NotFound("no such booking") from None
    return await _check_in(context, booking, schedule)


async def _department_covers(code_department_id: int, booking_department_id: int) -> bool:
    # A code on a parent department's wall (内科) checks in bookings of its sub-departments too.
    if code_department_id == booking_department_id:
        return True
    department = await Department.get_or_none(id=booking_department_id)
    return department is not None and department.parent_id == code_department_id


async def _check_in(context: Context, booking: Booking, schedule: Schedule) -> QueueTicket:
    now = utcnow()
    room_id: int = schedule.room_id
    boards = [room_board(room_id), department_board(booking.department_id)]
    if booking.status is BookingStatus.IN_CONSULTATION:
        return await _return_after_tests(context, booking, boards)
    if booking.status is BookingStatus.CHECKED_IN:
        raise AlreadyCheckedIn()
    if booking.status is not BookingStatus.CONFIRMED:
        raise InvalidTransition("booking", booking.status.value, BookingStatus.CHECKED_IN.value)
    settings = context.settings
    opens_at = booking.slot_starts_at - timedelta(minutes=settings.checkin_open_minutes_before)
    closes_at = booking.slot_ends_at + timedelta(minutes=settings.checkin_close_minutes_after)
    if booking.visit_date != today(context):
        # Only on the visit day, whatever the window says (a queue is a day's queue).
        raise CheckInNotOpen(opens_at) if booking.visit_date > today(context) else CheckInClosed()
    if now < opens_at:
        raise CheckInNotOpen(opens_at)
    if now > closes_at:
        raise CheckInClosed()
    department = await Department.get(id=booking.department_id)
    patient = await Patient.get(id=booking.patient_id)
    # The session's place among its department's sessions that day, by id: stable as sessions are
    # added (a session with tickets is never deleted).
    ordinal = await Schedule.filter(
        department_id=booking.department_id, date=booking.visit_date, id__lt=schedule.id
    ).count()
    await ensure_boards(*boards)
    async with in_transaction():
        sequences = await bump(boards)
        await change_booking(
            booking, BookingStatus.CHECKED_IN, actor_id=context.viewer.account_id, reason="check-in"
        )
        ticket = await open_ticket(
            booking,
            room_id=room_id,
            label=ticket_label(department.ticket_prefix, booking.queue_number, ordinal),
            display_name=mask_name(patient.name),
            late=now > booking.slot_ends_at,
            now=now,
        )
        age = _age(patient, today(context))
        if age is not None and age >= settings.elderly_priority_age:
            ticket = await set_priority(ticket, PriorityReason.ELDERLY, f"{age}岁 (automatic)", now=now)
        read_boards = await read_room_boards(context, sequences)
    await publish_boards(context, sequences, "checked_in", ticket, read_boards)
    return ticket


def _age(patient: Patient, day: date) -> int | None:
    if patient.id_kind is not IdKind.RESIDENT_ID:
        return None
    born = birth_date(reveal_id_number(patient))
    return age_on(born, day) if born else None


async def _return_after_tests(context: Context, booking: Booking, boards: list[str]) -> QueueTicket:
    """回诊: a patient back from tests checks in again and re-enters near the front."""
    await ensure_boards(*boards)
    async with in_transaction():
        sequences = await bump(boards)
        ticket = await QueueTicket.get_or_none(booking_id=booking.id, state=T.IN_CONSULTATION)
        if ticket is None:
            raise InvalidTransition("booking", booking.status.value, BookingStatus.CHECKED_IN.value)
        ticket = await return_after_tests(ticket, queue_rules(context), actor_id=context.viewer.account_id)
        read_boards = await read_room_boards(context, sequences)
    await publish_boards(context, sequences, "returned", ticket, read_boards)
    return ticket


# -- doctor actions


async def _acting_doctor(context: Context, room_id: int) -> int | None:
    """The doctor's id when a doctor works in the room (their room, or a session there today);
    None for an administrator. Anyone else is refused."""
    viewer = context.viewer
    if viewer.is_admin:
        return None
    doctor = await Doctor.get_or_none(account_id=viewer.account_id, archived=False)
    if doctor is None:
        raise NotAllowed("only the room's doctors may act on its queue")
    if doctor.room_id == room_id:
        return doctor.id
    if await Schedule.filter(doctor_id=doctor.id, room_id=room_id, date=today(context)).exists():
        return doctor.id
    raise NotAllowed("you do not work in this room today")


async def call_next_patient(context: Context, room_id: int) -> QueueTicket:
    room = await Room.get_or_none(id=room_id)
    if room is None:
        raise NotFound("no such room")
    doctor_id = await _acting_doctor(context, room_id)
    boards = [room_board(room_id), department_board(room.department_id)]
    await ensure_boards(*boards)
    async with in_transaction():
        sequences = await bump(boards)
        ticket = await call_next(
            room_id,
            today(context),
            doctor_id=doctor_id,
            now=utcnow(),
            doctor_account_id=context.viewer.account_id,
        )
        read_boards = await read_room_boards(context, sequences)
    await publish_boards(context, sequences, "called", ticket, read_boards)
    return ticket


TicketAction = Callable[[QueueTicket, int | None], Awaitable[QueueTicket]]


async def _on_ticket(
    context: Context, ticket_id: int, event: str, action: TicketAction, *, also_room: Room | None = None
) -> QueueTicket:
    ticket = await get_ticket(ticket_id)
    doctor_id = await _acting_doctor(context, ticket.room_id)
    rooms = [ticket.room_id]
    departments = [ticket.department_id]
    if also_room is not None:
        rooms.append(also_room.id)
        departments.append(also_room.department_id)
    boards = [room_board(r) for r in rooms] + [department_board(d) for d in departments]
    await ensure_boards(*boards)
    async with in_transaction():
        sequences = await bump(boards)
        fresh = await QueueTicket.get(id=ticket_id)  # re-read under the board lock
        result = await action(fresh, doctor_id)
        read_boards = await read_room_boards(context, sequences)
    await publish_boards(context, sequences, event, result, read_boards)
    return result


async def recall_ticket(context: Context, ticket_id: int) -> QueueTicket:
    return await _on_ticket(context, ticket_id, "recalled", lambda t, _: recall(t, now=utcnow()))


async def skip_ticket(context: Context, ticket_id: int) -> QueueTicket:
    async def skip(ticket: QueueTicket, _doctor_id: int | None) -> QueueTicket:
        now = utcnow()
        return await change_ticket(
            ticket, T.SKIPPED, actor_id=context.viewer.account_id, updates={"skipped_at": now}, at=now
        )

    return await _on_ticket(context, ticket_id, "skipped", skip)


async def restore_ticket(context: Context, ticket_id: int) -> QueueTicket:
    rules = queue_rules(context)
    return await _on_ticket(
        context, ticket_id, "restored", lambda t, _: restore(t, rules, actor_id=context.viewer.account_id)
    )


async def start_consultation(context: Context, ticket_id: int) -> QueueTicket:
    async def start(ticket: QueueTicket, _doctor_id: int | None) -> QueueTicket:
        now = utcnow()
        return await change_ticket(
            ticket, T.IN_CONSULTATION, actor_id=context.viewer.account_id, updates={"started_at": now}, at=now
        )

    return await _on_ticket(context, ticket_id, "started", start)


async def complete_consultation(context: Context, ticket_id: int) -> QueueTicket:
    async def complete(ticket: QueueTicket, _doctor_id: int | None) -> QueueTicket:
        now = utcnow()
        return await change_ticket(
            ticket, T.DONE, actor_id=context.viewer.account_id, updates={"finished_at": now}, at=now
        )

    return await _on_ticket(context, ticket_id, "completed", complete)


async def transfer_ticket(context: Context, ticket_id: int, room_id: int) -> QueueTicket:
    target = await Room.get_or_none(id=room_id, archived=False)
    if target is None:
        raise NotFound("no such room")
    rules = queue_rules(context)

    async def move(ticket: QueueTicket, _doctor_id: int | None) -> QueueTicket:
        return await transfer(ticket, room_id, rules, actor_id=context.viewer.account_id, now=utcnow())

    return await _on_ticket(context, ticket_id, "transferred", move, also_room=target)


async def prioritise_ticket(
    context: Context, ticket_id: int, reason: PriorityReason, note: str
) -> QueueTicket:
    return await _on_ticket(
        context, ticket_id, "prioritised", lambda t, _: set_priority(t, reason, note, now=utcnow())
    )


# -- publishing (after commit)


def _board_loader(context: Context, visit_date: date) -> dict[str, Any]:
    settings = context.settings
    return {
        "visit_date": visit_date,
        "shown": settings.queue_board_waiting_shown,
        "pace_sample": settings.queue_pace_sample,
    }


async def read_room_boards(context: Context, sequences: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Read the changed room boards inside the change's transaction, so that the publish right after
    the commit needs no query. The wait between a commit and its publish is what lets two processes'
    messages of one room overtake each other (decision 096); the board read here is also exactly
    the state its number stands for. Department boards (one read per room of the department) are
    read after the commit instead, not to hold the department's lock that long."""
    options = _board_loader(context, today(context))
    boards: dict[str, dict[str, Any]] = {}
    for board_key, seq in sequences.items():
        kind, _, raw_id = board_key.partition(":")
        if kind == "room":
            boards[board_key] = await queue_board.load_room_board(int(raw_id), seq=seq, **options)
    return boards


async def publish_boards(
    context: Context,
    sequences: dict[str, int],
    event: str,
    ticket: QueueTicket,
    read: dict[str, dict[str, Any]],
) -> None:
    """Publish each changed board under the number its change got in the transaction: every
    subscriber of a channel gets the same rendered dict. `read`: the boards already read in the
    transaction; the others are read now. A failure is logged, not raised: the change is committed,
    and subscribers cross the gap with the next message or re-snapshot on the broker's resync."""
    options = _board_loader(context, today(context))
    happened = {"kind": event, "ticket_id": ticket.id, "label": ticket.label, "room_id": ticket.room_id}
    broker = get_broker()
    rooms_read = {int(key.partition(":")[2]): board for key, board in read.items() if key.startswith("room:")}
    # What was read in the transaction goes out first, before any query.
    for board_key in sorted(sequences, key=lambda key: key not in read):
        seq = sequences[board_key]
        kind, _, raw_id = board_key.partition(":")
        try:
            board = read.get(board_key)
            if board is None and kind == "room":
                board = await queue_board.load_room_board(int(raw_id), seq=seq, **options)
            elif board is None:
                board = await queue_board.load_department_board(
                    int(raw_id), seq=seq, rooms_read=rooms_read, **options
                )
            await broker.publish(channel_for(board_key), {**board, "event": happened})
        except Exception:
            log.warning("could not publish board %s", board_key, exc_info=True)


# -- streams


def refused(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


# Snapshot loads shared by the displays of one board that re-snapshot together (after a Redis
# reconnection every display of a room resyncs at once): one query instead of one per display.
_board_snapshots: SingleFlight[dict[str, Any]] = SingleFlight()

# The latest snapshot load of each board, finished or still running, handed to displays that
# subscribe while the board has not changed since: one cheap sequence read instead of a board read,
# one shared dict instead of a copy pinned by every idle display, and one load instead of hundreds
# when a room's displays all connect at once. Bounded in age for what changes without a sequence
# number (the doctor on duty follows the clock).
SNAPSHOT_REUSE_SECONDS = 10.0
# Per broker, i.e. per running app: a restarted app (or the next test) never sees an old one's boards.
_recent_snapshots: weakref.WeakKeyDictionary[
    Broker, dict[str, tuple[float, asyncio.Future[dict[str, Any]]]]
] = weakref.WeakKeyDictionary()


def _reusing_snapshots(
    board: str, load: Callable[[], Awaitable[dict[str, Any]]]
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """Correct because it runs after the subscription is live (realtime.ordered): a snapshot holds
    at least the changes its number counts, and a change numbered above the sequence read here
    commits after that read, so it reaches the subscriber as a message."""

    async def load_or_reuse() -> dict[str, Any]:
        now = asyncio.get_running_loop().time()
        recent_boards = _recent_snapshots.setdefault(get_broker(), {})
        recent = recent_boards.get(board)
        if recent is not None and now - recent[0] < SNAPSHOT_REUSE_SECONDS:
            with contextlib.suppress(Exception):  # that load failed: try one of our own
                snapshot = await asyncio.shield(recent[1])
                if await sequence_of(board) == snapshot["seq"]:
                    return snapshot
        loading = asyncio.ensure_future(load())
        recent_boards[board] = (now, loading)
        return await asyncio.shield(loading)  # shielded: others may be waiting for this load

    return load_or_reuse


# A board message is the board's whole state, so a message whose predecessor is late or lost can be
# shown as it is; this only bounds how long a display waits to announce calls in their order.
BOARD_REORDER_SECONDS = 1.0


async def _board_stream(
    board: str, load: Callable[[], Awaitable[dict[str, Any]]]
) -> AsyncIterator[Sequenced]:
    """Subscribe first, read the snapshot second, then every change once and in order
    (realtime.ordered). Yields the broker's dicts as they are, shared by every subscriber of the
    board in this process (read-only), so the GraphQL layer can render each change once.
    Out-of-order arrivals from two processes are held briefly; a lost message is crossed by the
    next one (each is a whole board); only a resync reads the database again."""
    async with get_broker().subscribe(channel_for(board)) as messages:

        async def receive() -> dict[str, Any]:
            # Token expiry and revocation close the whole WebSocket (gualema/session_watch.py).
            return await anext(messages)

        async for item in sequenced(
            messages,
            _reusing_snapshots(board, load),
            receive=receive,
            snapshots=_board_snapshots,
            snapshot_key=board,
            reorder_seconds=BOARD_REORDER_SECONDS,
            complete_messages=True,
        ):
            if item.snapshot or item.message.get("type") == queue_board.BOARD_MESSAGE:
                yield item


async def room_board_stream(context: Context, room_id: int) -> AsyncIterator[Sequenced]:
    viewer = context.viewer
    if viewer.is_display and room_id not in viewer.room_ids:
        raise refused("this display token is not valid for this room", "FORBIDDEN")
    if not await Room.exists(id=room_id):
        raise refused("no such room", "NOT_FOUND")
    async for board in room_board_changes(context.settings, room_id)():
        yield board


def room_board_changes(settings: Settings, room_id: int) -> Callable[[], AsyncIterator[Sequenced]]:
    """A room board's stream without a viewer: for a fan-out that serves, in one stream, every
    display of the board in this process that `room_board_stream` has already let in."""

    async def load() -> dict[str, Any]:
        return await queue_board.load_room_board(room_id, **_board_options(settings))

    return lambda: _board_stream(room_board(room_id), load)


async def department_board_stream(context: Context, department_id: int) -> AsyncIterator[Sequenced]:
    viewer = context.viewer
    if not await Department.exists(id=department_id):
        raise refused("no such department", "NOT_FOUND")
    if viewer.is_display:
        room_ids = set(
            await Room.filter(department_id=department_id, archived=False).values_list("id", flat=True)
        )
        if not room_ids or not room_ids <= viewer.room_ids:
            raise refused("this display token does not cover every room of this department", "FORBIDDEN")
    async for board in department_board_changes(context.settings, department_id)():
        yield board


def department_board_changes(
    settings: Settings, department_id: int
) -> Callable[[], AsyncIterator[Sequenced]]:
    """As `room_board_changes`, for a department board (`department_board_stream` lets viewers in)."""

    async def load() -> dict[str, Any]:
        return await queue_board.load_department_board(department_id, **_board_options(settings))

    return lambda: _board_stream(department_board(department_id), load)


def _board_options(settings: Settings) -> dict[str, Any]:
    return {
        "visit_date": utcnow().astimezone(settings.tz).date(),  # read at each load: the day turns
        "shown": settings.queue_board_waiting_shown,
        "pace_sample": settings.queue_pace_sample,
    }


async def my_queue_stream(context: Context, booking_id: int) -> AsyncIterator[queue_board.PatientQueueView]:
    """The patient's own place in the queue. Follows the ticket to another room on a transfer."""
    viewer = context.viewer
    booking = await Booking.get_or_none(id=booking_id, account_id=viewer.account_id)
    if booking is None:
        # The same answer for someone else's booking and a missing one: existence is not revealed.
        raise refused("no such booking", "NOT_FOUND")
    schedule = await Schedule.get(id=booking.schedule_id)
    settings = context.settings

    async def load() -> queue_board.PatientQueueView:
        return await queue_board.patient_view(
            booking_id,
            waiting_room_id=schedule.room_id,
            default_minutes_per_patient=settings.queue_default_minutes_per_patient,
            pace_sample=settings.queue_pace_sample,
        )

    view = await load()
    sent: queue_board.PatientQueueView | None = None
    while True:
        room_id = view.room_id
        async with get_broker().subscribe(channel_for(room_board(room_id))) as messages:
            view = await load()
            if view != sent:
                sent = view
                yield view
            while view.room_id == room_id:
                try:
                    message = await anext(messages)  # the transport ends it with the token
                except StopAsyncIteration:
                    return
                view = (
                    _view_from_board(view, message, settings.queue_default_minutes_per_patient)
                    or await load()
                )
                if _changed(sent, view):
                    sent = view
                    yield view


def _view_from_board(
    view: queue_board.PatientQueueView, message: dict[str, Any], default_minutes: int
) -> queue_board.PatientQueueView | None:
    """A waiting patient's new place straight from the published board (no query per phone);
    None when the board does not settle it (resync, or the ticket left the waiting list)."""
    if is_resync(message) or view.state is not T.WAITING or view.ticket_id is None:
        return None
    waiting_ids: list[int] = message.get("waiting_ids", [])
    if view.ticket_id not in waiting_ids:
        return None
    ahead = waiting_ids.index(view.ticket_id)
    minutes = queue_board.wait_minutes(ahead, message.get("pace_seconds"), default_minutes)
    return dataclasses.replace(
        view,
        position=ahead + 1,
        people_ahead=ahead,
        estimated_wait_minutes=minutes,
        sequence=int(message.get("seq", view.sequence)),
    )


def _changed(sent: queue_board.PatientQueueView | None, view: queue_board.PatientQueueView) -> bool:
    if sent is None:
        return True
    return dataclasses.replace(sent, sequence=0) != dataclasses.replace(view, sequence=0)
