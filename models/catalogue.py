"""The hospital's catalogue: departments (two levels), clinic rooms, registration types, doctors.

Rules that need more than one row (depth, archiving) are checked under row locks taken by the
resolvers in a fixed order: departments (by id) before rooms (docs/decisions/024-catalogue-locks.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.errors import DomainError, InvalidInput

if TYPE_CHECKING:
    from models.accounts import Account


class Department(Model):
    # Two levels: a clinical department (内科) and its sub-departments (消化内科).

    id = fields.IntField(primary_key=True)
    parent_id: int | None
    name = fields.CharField(max_length=64)
    code = fields.CharField(max_length=16, unique=True)
    parent: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    description = fields.TextField(default="")
    building = fields.CharField(max_length=64, default="")
    floor = fields.CharField(max_length=16, default="")
    location = fields.CharField(max_length=64, default="")
    ticket_prefix = fields.CharField(max_length=4, default="A")
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "department"


DEPARTMENT_AUDIT_FIELDS = (
    "name",
    "code",
    "parent_id",
    "description",
    "building",
    "floor",
    "location",
    "ticket_prefix",
    "sort_order",
    "archived",
)


class Room(Model):
    id = fields.IntField(primary_key=True)
    department_id: int
    name = fields.CharField(max_length=64)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="rooms", on_delete=fields.RESTRICT
    )
    building = fields.CharField(max_length=64, default="")
    floor = fields.CharField(max_length=16, default="")
    archived = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "room"


ROOM_AUDIT_FIELDS = ("name", "department_id", "building", "floor", "archived")


class RegistrationType(Model):
    # 号别: 普通号, 专家号, 特需 …, the fee is integer fen.

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    fee = fields.IntField()
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)
    # 现场号: the share of each slot's seats kept back from online booking for the registration desk
    # (docs/decisions/190-desk-share.md). Applied when a session's slots are cut.
    desk_share_percent = fields.IntField(default=20)
    # Reserved shares (decision 241), cut like the desk share: 复诊 seats for a patient with a completed
    # visit in the session's department within `followup_window_days`, and seats for accounts marked
    # as staff or students. What is left of them opens to everyone `reserved_release_minutes` before
    # the session starts (720: a morning session's evening before).
    followup_share_percent = fields.IntField(default=0)
    followup_window_days = fields.IntField(default=30)
    staff_share_percent = fields.IntField(default=0)
    reserved_release_minutes = fields.IntField(default=720)

    class Meta:
        table = "registration_type"


REGISTRATION_TYPE_AUDIT_FIELDS = (
    "name",
    "fee",
    "sort_order",
    "archived",
    "desk_share_percent",
    "followup_share_percent",
    "followup_window_days",
    "staff_share_percent",
    "reserved_release_minutes",
)


def desk_seats(capacity: int, share_percent: int) -> int:
    """Seats of a slot kept for the desk: the share rounded down, so online keeps the remainder."""
    return capacity * share_percent // 100


@dataclass(frozen=True)
class SeatSplit:
    """How a slot's capacity is cut into counters: remaining + desk + followup + staff == capacity."""

    remaining: int
    desk: int
    followup: int
    staff: int


def seat_split(capacity: int, registration_type: RegistrationType) -> SeatSplit:
    # Each share rounds down, so the general pool keeps every remainder.
    desk = desk_seats(capacity, registration_type.desk_share_percent)
    followup = desk_seats(capacity, registration_type.followup_share_percent)
    staff = desk_seats(capacity, registration_type.staff_share_percent)
    return SeatSplit(capacity - desk - followup - staff, desk, followup, staff)


class Doctor(Model):
    id = fields.IntField(primary_key=True)
    account_id: int
    department_id: int
    room_id: int | None
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="doctor", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    title = fields.CharField(max_length=32)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="doctors", on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyNullableRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="doctors", null=True, on_delete=fields.SET_NULL
    )
    introduction = fields.TextField(default="")
    archived = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "doctor"


DOCTOR_AUDIT_FIELDS = ("name", "title", "department_id", "room_id", "introduction", "archived", "account_id")


# -- expected failures


class DuplicateCode(DomainError):
    default_message = "another department already uses this code"

    def __init__(self, code: str) -> None:
        super().__init__(f"another department already uses the code {code}", department_code=code)


class DuplicateName(DomainError):
    default_message = "this name is already used"

    def __init__(self, name: str) -> None:
        super().__init__(f"the name {name} is already used", name=name)


class DepartmentDepthExceeded(DomainError):
    default_message = "a department may have at most two levels"


class DepartmentHasActiveDoctors(DomainError):
    default_message = "archive or move the department's doctors first"

    def __init__(self, doctor_count: int) -> None:
        super().__init__(
            f"the department has {doctor_count} active doctor(s); archive or move them first",
            doctor_count=doctor_count,
        )


class DepartmentHasActiveChildren(DomainError):
    default_message = "archive the sub-departments first"

    def __init__(self, child_count: int) -> None:
        super().__init__(
            f"the department has {child_count} active sub-department(s); archive them first",
            child_count=child_count,
        )


class RoomHasActiveDoctors(DomainError):
    default_message = "the room is some doctors' default room; give them another first"

    def __init__(self, doctor_count: int) -> None:
        super().__init__(
            f"the room is the default room of {doctor_count} active doctor(s); give them another first",
            doctor_count=doctor_count,
        )


# -- input rules: each returns the cleaned value or raises InvalidInput naming the GraphQL field

_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,15}$")
_TICKET_PREFIX = re.compile(r"^[A-Z]{1,4}$")
MAX_FEE = 10_000_00  # 10 000 yuan, in fen


def clean_text(field: str, value: str, *, maximum: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(field, f"{field} must not be empty")
    if len(value) > maximum:
        raise InvalidInput(field, f"{field} has at most {maximum} characters")
    return value


def clean_code(value: str) -> str:
    code = value.strip().upper()
    if not _CODE.match(code):
        raise InvalidInput("code", "a code has 1-16 letters, digits, '-' or '_' and starts with a letter")
    return code


def clean_ticket_prefix(value: str) -> str:
    prefix = value.strip().upper()
    if not _TICKET_PREFIX.match(prefix):
        raise InvalidInput("ticketPrefix", "a ticket prefix has 1-4 letters")
    return prefix


def clean_fee(value: int) -> int:
    if not 0 <= value <= MAX_FEE:
        raise InvalidInput("fee", f"a fee is in fen, between 0 and {MAX_FEE}")
    return value
