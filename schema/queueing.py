"""GraphQL surface of the queue: check-in, doctor actions, display tokens, board and patient streams."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import strawberry
from strawberry.types.info import Info

from gualema.settings import Settings
from models import queueing as queue_models
from models.checkin_codes import InvalidCheckInCode, sign_code
from models.queue_board import PatientQueueView
from models.queueing import (
    AlreadyCheckedIn,
    NothingToCall,
    PriorityReason,
    TicketState,
    department_board,
    room_board,
)
from realtime.ordered import Sequenced
from resolvers import display_tokens
from resolvers import queueing as use_cases
from resolvers.queueing import CheckInClosed, CheckInNotOpen, WrongCheckInPlace
from schema import shared_streams
from schema.errors import (
    Error,
    InvalidInputError,
    InvalidStatusTransition,
    NotAllowedError,
    NotFoundError,
    maps,
)
from schema.ids import parse_id, parse_ids
from schema.list_bounds import at_most, planned
from schema.permissions import IsAdmin, IsDisplayOrStaff, IsPatient, IsStaff

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
strawberry.enum(TicketState, name="TicketState")
strawberry.enum(PriorityReason, name="PriorityReason")


PLANNED_BOARD_TICKETS = 30  # called, consulting or skipped tickets of one room at once
MOST_WAITING_SHOWN = 50  # the ceiling of the setting queue_board_waiting_shown (le=50)
PLANNED_ROOMS_PER_DEPARTMENT = 10


@strawberry.enum
class CheckInPlace(StrEnum):
    ROOM = "room"
    DEPARTMENT = "department"


@strawberry.type(description="A place in a room's queue. The patient's name is always masked (张*三).")
class QueueTicket:
    id: strawberry.ID
    label: str
    state: TicketState
    room_id: strawberry.ID
    booking_id: strawberry.ID
    number: int
    patient_name: str
    priority: bool
    priority_reason: PriorityReason | None
    late: bool
    returned: bool
    call_count: int
    called_at: datetime | None
    checked_in_at: datetime

    @classmethod
    def from_model(cls, row: queue_models.QueueTicket) -> QueueTicket:
        return cls(
            id=strawberry.ID(str(row.id)),
            label=row.label,
            state=row.state,
            room_id=strawberry.ID(str(row.room_id)),
            booking_id=strawberry.ID(str(row.booking_id)),
            number=row.number,
            patient_name=row.display_name,
            priority=row.priority,
            priority_reason=row.priority_reason,
            late=row.late,
            returned=row.returned,
            call_count=row.call_count,
            called_at=row.called_at,
            checked_in_at=row.checked_in_at,
        )


# -- boards: built from the published dict, which is rendered once per change for every viewer


@strawberry.type
class BoardTicket:
    id: strawberry.ID
    label: str
    patient_name: str = strawberry.field(description="Masked, e.g. 张*三.")
    priority: bool
    late: bool
    returned: bool
    call_count: int
    called_at: datetime | None

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> BoardTicket:
        return cls(
            id=strawberry.ID(str(item["id"])),
            label=item["label"],
            patient_name=item["patient_name"],
            priority=item["priority"],
            late=item["late"],
            returned=item["returned"],
            call_count=item["call_count"],
            called_at=datetime.fromisoformat(item["called_at"]) if item["called_at"] else None,
        )


@strawberry.type
class BoardRoom:
    id: strawberry.ID
    name: str
    building: str
    floor: str


@strawberry.type
class BoardDoctor:
    name: str
    title: str


@strawberry.type
class BoardCounts:
    waiting: int
    called: int
    in_consultation: int
    skipped: int
    done: int


@strawberry.type
class BoardEvent:
    kind: str = strawberry.field(description="checked_in, called, recalled, skipped, restored, started, …")
    ticket_id: strawberry.ID
    label: str


@strawberry.type(description="A room's queue as a waiting-room display shows it.")
class QueueBoard:
    # Nothing under a board depends on who watches it (access is checked when subscribing), so one
    # instance per change is shared by every display and its selection executed once for all of them
    # (gualema.graphql_schema.SharedEventExecution; decision 095).
    same_for_every_viewer: ClassVar[bool] = True
    sequence: int = strawberry.field(
        description="Changes made to this board so far; +1 per change. A gap means a missed message: "
        "resubscribe for a fresh snapshot."
    )
    snapshot: bool = strawberry.field(description="True for a full state read from the database.")
    event: BoardEvent | None
    room: BoardRoom
    department_name: str
    doctor: BoardDoctor | None
    called: BoardTicket | None = strawberry.field(description="The ticket called most recently.")
    also_called: list[BoardTicket] = strawberry.field(metadata=planned(PLANNED_BOARD_TICKETS))
    in_consultation: list[BoardTicket] = strawberry.field(metadata=planned(PLANNED_BOARD_TICKETS))
    waiting: list[BoardTicket] = strawberry.field(
        description="The next few, in queue order.", metadata=at_most(MOST_WAITING_SHOWN)
    )
    skipped: list[BoardTicket] = strawberry.field(
        description="过号: called and missed; restorable.", metadata=planned(PLANNED_BOARD_TICKETS)
    )
    counts: BoardCounts

    @classmethod
    def from_dict(cls, board: dict[str, Any], *, snapshot: bool, event: dict[str, Any] | None) -> QueueBoard:
        room, doctor, counts = board["room"], board["doctor"], board["counts"]
        return cls(
            sequence=board["seq"],
            snapshot=snapshot,
            event=BoardEvent(
                kind=event["kind"], ticket_id=strawberry.ID(str(event["ticket_id"])), label=event["label"]
            )
            if event
            else None,
            room=BoardRoom(
                id=strawberry.ID(str(room["id"])),
                name=room["name"],
                building=room["building"],
                floor=room["floor"],
            ),
            department_name=board["department"]["name"],
            doctor=BoardDoctor(name=doctor["name"], title=doctor["title"]) if doctor else None,
            called=BoardTicket.from_dict(board["called"]) if board["called"] else None,
            also_called=[BoardTicket.from_dict(t) for t in board["also_called"]],
            in_consultation=[BoardTicket.from_dict(t) for t in board["in_consultation"]],
            waiting=[BoardTicket.from_dict(t) for t in board["waiting"]],
            skipped=[BoardTicket.from_dict(t) for t in board["skipped"]],
            counts=BoardCounts(**counts),
        )

    @classmethod
    def from_stream(cls, item: Sequenced) -> QueueBoard:
        event = None if item.snapshot else item.message.get("event")
        return cls.from_dict(item.message, snapshot=item.snapshot, event=event)


@strawberry.type(description="Every room board of a department; `sequence` counts the department's changes.")
class DepartmentQueueBoard:
    same_for_every_viewer: ClassVar[bool] = True  # as QueueBoard

    sequence: int
    snapshot: bool
    event: BoardEvent | None
    department_name: str
    rooms: list[QueueBoard] = strawberry.field(metadata=planned(PLANNED_ROOMS_PER_DEPARTMENT))

    @classmethod
    def from_stream(cls, item: Sequenced) -> DepartmentQueueBoard:
        message = item.message
        event = None if item.snapshot else message.get("event")
        return cls(
            sequence=message["seq"],
            snapshot=item.snapshot,
            event=BoardEvent(
                kind=event["kind"], ticket_id=strawberry.ID(str(event["ticket_id"])), label=event["label"]
            )
            if event
            else None,
            department_name=message["department"]["name"],
            rooms=[QueueBoard.from_dict(r, snapshot=item.snapshot, event=None) for r in message["rooms"]],
        )


@strawberry.type(description="The patient's own place in the queue.")
class MyQueueStatus:
    booking_id: strawberry.ID
    ticket_id: strawberry.ID | None
    label: str | None
    state: TicketState | None = strawberry.field(description="null until checked in.")
    room_id: strawberry.ID
    room_name: str
    position: int | None = strawberry.field(description="1 = next; null unless waiting.")
    people_ahead: int | None
    estimated_wait_minutes: int | None = strawberry.field(description="From the room's recent pace.")
    your_turn: bool
    skipped: bool
    message: str
    sequence: int

    @classmethod
    def from_view(cls, view: PatientQueueView) -> MyQueueStatus:
        return cls(
            booking_id=strawberry.ID(str(view.booking_id)),
            ticket_id=strawberry.ID(str(view.ticket_id)) if view.ticket_id is not None else None,
            label=view.label,
            state=view.state,
            room_id=strawberry.ID(str(view.room_id)),
            room_name=view.room_name,
            position=view.position,
            people_ahead=view.people_ahead,
            estimated_wait_minutes=view.estimated_wait_minutes,
            your_turn=view.your_turn,
            skipped=view.skipped,
            message=view.message,
            sequence=view.sequence,
        )


@strawberry.type
class DisplayToken:
    token: str
    token_id: strawberry.ID = strawberry.field(description="Names this token to revokeDisplayToken.")
    expires_at: datetime
    room_ids: list[strawberry.ID] = strawberry.field(metadata=at_most(display_tokens.MAX_ROOMS_PER_DISPLAY))


@strawberry.type
class DisplayTokenRevoked:
    token_id: strawberry.ID


# -- errors


@maps(InvalidCheckInCode)
@strawberry.type
class InvalidCheckInCodeError(Error):
    pass


@maps(WrongCheckInPlace)
@strawberry.type
class WrongCheckInPlaceError(Error):
    pass


@maps(CheckInNotOpen)
@strawberry.type
class CheckInNotOpenError(Error):
    opens_at: datetime


@maps(CheckInClosed)
@strawberry.type
class CheckInClosedError(Error):
    pass


@maps(AlreadyCheckedIn)
@strawberry.type
class AlreadyCheckedInError(Error):
    pass


@maps(NothingToCall)
@strawberry.type
class NothingToCallError(Error):
    pass


CheckInResult = Annotated[
    QueueTicket
    | InvalidCheckInCodeError
    | WrongCheckInPlaceError
    | CheckInNotOpenError
    | CheckInClosedError
    | AlreadyCheckedInError
    | InvalidStatusTransition
    | NotFoundError,
    strawberry.union("CheckInResult"),
]
CallNextResult = Annotated[
    QueueTicket | NothingToCallError | NotAllowedError | NotFoundError, strawberry.union("CallNextResult")
]
TicketResult = Annotated[
    QueueTicket | InvalidStatusTransition | NotAllowedError | NotFoundError, strawberry.union("TicketResult")
]
DisplayTokenResult = Annotated[
    DisplayToken | InvalidInputError | NotFoundError, strawberry.union("DisplayTokenResult")
]
RevokeDisplayTokenResult = Annotated[
    DisplayTokenRevoked | InvalidInputError, strawberry.union("RevokeDisplayTokenResult")
]


@strawberry.input
class IssueDisplayTokenInput:
    room_ids: list[strawberry.ID]


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The signed code to print as a QR code on a room's or department's wall.",
    )
    def check_in_code(self, info: Info, place: CheckInPlace, id: strawberry.ID) -> str:
        return sign_code(
            place.value, parse_id(id), secret=info.context.settings.secret_key.get_secret_value()
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsPatient], description="签到 by scanning the room's code.")
    async def check_in(self, info: Info, booking_id: strawberry.ID, code: str) -> CheckInResult:
        return QueueTicket.from_model(
            await use_cases.check_in(info.context, parse_id(booking_id, "bookingId"), code)
        )

    @strawberry.mutation(permission_classes=[IsStaff], description="签到 at a desk.")
    async def check_in_by_staff(self, info: Info, booking_id: strawberry.ID) -> CheckInResult:
        return QueueTicket.from_model(
            await use_cases.check_in_by_staff(info.context, parse_id(booking_id, "bookingId"))
        )

    @strawberry.mutation(permission_classes=[IsStaff], description="叫号: call the next patient.")
    async def call_next(self, info: Info, room_id: strawberry.ID) -> CallNextResult:
        return QueueTicket.from_model(
            await use_cases.call_next_patient(info.context, parse_id(room_id, "roomId"))
        )

    @strawberry.mutation(permission_classes=[IsStaff], description="Call the called patient again.")
    async def recall(self, info: Info, ticket_id: strawberry.ID) -> TicketResult:
        return QueueTicket.from_model(
            await use_cases.recall_ticket(info.context, parse_id(ticket_id, "ticketId"))
        )

    @strawberry.mutation(permission_classes=[IsStaff], description="过号: to the missed list.")
    async def skip(self, info: Info, ticket_id: strawberry.ID) -> TicketResult:
        return QueueTicket.from_model(
            await use_cases.skip_ticket(info.context, parse_id(ticket_id, "ticketId"))
        )

    @strawberry.mutation(
        permission_classes=[IsStaff], description="Back from the missed list into the queue."
    )
    async def restore(self, info: Info, ticket_id: strawberry.ID) -> TicketResult:
        return QueueTicket.from_model(
            await use_cases.restore_ticket(info.context, parse_id(ticket_id, "ticketId"))
        )

    @strawberry.mutation(permission_classes=[IsStaff])
    async def start_consultation(self, info: Info, ticket_id: strawberry.ID) -> TicketResult:
        return QueueTicket.from_model(
            await use_cases.start_consultation(info.context, parse_id(ticket_id, "ticketId"))
        )

    @strawberry.mutation(permission_classes=[IsStaff])
    async def complete_consultation(self, info: Info, ticket_id: strawberry.ID) -> TicketResult:
        return QueueTicket.from_model(
            await use_cases.complete_consultation(info.context, parse_id(ticket_id, "ticketId"))
        )

    @strawberry.mutation(
        permission_classes=[IsStaff], description="Send the patient to another room's queue."
    )
    async def transfer(self, info: Info, ticket_id: strawberry.ID, room_id: strawberry.ID) -> TicketResult:
        return QueueTicket.from_model(
            await use_cases.transfer_ticket(
                info.context, parse_id(ticket_id, "ticketId"), parse_id(room_id, "roomId")
            )
        )

    @strawberry.mutation(
        permission_classes=[IsStaff], description="Elderly, disabled or emergency: to the front."
    )
    async def set_queue_priority(
        self, info: Info, ticket_id: strawberry.ID, reason: PriorityReason, note: str = ""
    ) -> TicketResult:
        ticket = await use_cases.prioritise_ticket(
            info.context, parse_id(ticket_id, "ticketId"), reason, note
        )
        return QueueTicket.from_model(ticket)

    @strawberry.mutation(permission_classes=[IsAdmin], description="A token for a waiting-room display.")
    async def issue_display_token(self, info: Info, input: IssueDisplayTokenInput) -> DisplayTokenResult:
        issued = await display_tokens.issue_display_token(info.context, parse_ids(input.room_ids, "roomIds"))
        return DisplayToken(
            token=issued.token,
            token_id=strawberry.ID(issued.token_id),
            expires_at=issued.expires_at,
            room_ids=[strawberry.ID(str(r)) for r in issued.room_ids],
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="A lost or replaced display stops: its token is refused."
    )
    async def revoke_display_token(
        self, info: Info, token_id: strawberry.ID, reason: str
    ) -> RevokeDisplayTokenResult:
        revoked = await display_tokens.revoke_display_token(info.context, str(token_id), reason)
        return DisplayTokenRevoked(token_id=strawberry.ID(revoked))


Board = TypeVar("Board")


class SharedBoards(Generic[Board]):
    """One board object per published message, yielded to every display of the board in this process:
    what lets SharedEventExecution execute the selection once per change instead of once per display.

    Keyed by the message's identity, not its sequence number: the broker hands every subscriber the
    same decoded dict for a change, and a shared snapshot load the same dict to all who joined it,
    while two separate snapshot loads at one sequence number may differ (time-dependent fields such
    as the doctor on duty). The last few messages per board are kept for subscribers a change behind.
    """

    def __init__(self, build: Callable[[Sequenced], Board], keep: int = 4) -> None:
        self._build = build
        self._keep = keep
        self._recent: dict[str, deque[tuple[dict[str, Any], bool, Board]]] = {}

    def get(self, board: str, item: Sequenced) -> Board:
        recent = self._recent.setdefault(board, deque(maxlen=self._keep))
        for message, snapshot, built in recent:
            if message is item.message and snapshot is item.snapshot:
                return built
        built = self._build(item)
        recent.append((item.message, item.snapshot, built))  # holding the dict keeps its identity unique
        return built


_room_boards = SharedBoards(QueueBoard.from_stream)
_department_boards = SharedBoards(DepartmentQueueBoard.from_stream)


def _room_stream(settings: Settings, room_id: int) -> shared_streams.SharedStream:
    board = room_board(room_id)
    return shared_streams.SharedStream(
        board, use_cases.room_board_changes(settings, room_id), functools.partial(_room_boards.get, board)
    )


def _department_stream(settings: Settings, department_id: int) -> shared_streams.SharedStream:
    board = department_board(department_id)
    return shared_streams.SharedStream(
        board,
        use_cases.department_board_changes(settings, department_id),
        functools.partial(_department_boards.get, board),
    )


@strawberry.type
class Subscription:
    @strawberry.subscription(permission_classes=[IsDisplayOrStaff])
    async def queue_board(self, info: Info, room_id: strawberry.ID) -> AsyncGenerator[QueueBoard, None]:
        room = parse_id(room_id, "roomId")
        shared = _room_stream(info.context.settings, room)
        async for item in use_cases.room_board_stream(info.context, room):
            shared_streams.offer(shared, item)
            yield shared.build(item)  # type: ignore[misc]

    @strawberry.subscription(permission_classes=[IsDisplayOrStaff])
    async def department_queue_board(
        self, info: Info, department_id: strawberry.ID
    ) -> AsyncGenerator[DepartmentQueueBoard, None]:
        department = parse_id(department_id, "departmentId")
        shared = _department_stream(info.context.settings, department)
        async for item in use_cases.department_board_stream(info.context, department):
            shared_streams.offer(shared, item)
            yield shared.build(item)  # type: ignore[misc]

    @strawberry.subscription(permission_classes=[IsPatient])
    async def my_queue(self, info: Info, booking_id: strawberry.ID) -> AsyncGenerator[MyQueueStatus, None]:
        async for view in use_cases.my_queue_stream(info.context, parse_id(booking_id, "bookingId")):
            yield MyQueueStatus.from_view(view)
