"""Use cases of the admin catalogue (departments, rooms, registration types, doctors) and its reads.

Writes lock the rows their rules depend on, always departments (by id) before rooms before doctors,
so concurrent admin edits serialise without deadlocks (docs/decisions/024-catalogue-locks.md).
Every write that changes something leaves an audit entry with the state before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import access_revocations, audit, public_changes
from models.accounts import Account, PhoneTaken, Role, revoke_all_sessions
from models.catalogue import (
    DEPARTMENT_AUDIT_FIELDS,
    DOCTOR_AUDIT_FIELDS,
    REGISTRATION_TYPE_AUDIT_FIELDS,
    ROOM_AUDIT_FIELDS,
    Department,
    DepartmentDepthExceeded,
    DepartmentHasActiveChildren,
    DepartmentHasActiveDoctors,
    Doctor,
    DuplicateCode,
    DuplicateName,
    RegistrationType,
    Room,
    RoomHasActiveDoctors,
    clean_code,
    clean_fee,
    clean_text,
    clean_ticket_prefix,
)
from models.department_scope import DepartmentScope
from models.errors import InvalidInput, NotFound
from models.identity import mask_phone
from resolvers.accounts import clean_name, clean_password, clean_phone, hash_password_off_loop
from resolvers.context import Context

Changes = Mapping[str, Any]


# -- reads


async def top_departments(scope: DepartmentScope, include_archived: bool = False) -> list[Department]:
    """The top of the tree the caller sees: top-level departments, or, for a key scoped to a
    sub-department alone, that sub-department (its parent is outside the scope)."""
    query = scope.filter(Department.all(), "id")
    if scope.department_ids is None:
        query = query.filter(parent_id__isnull=True)
    else:
        ids = sorted(scope.department_ids)
        query = query.filter(Q(parent_id__isnull=True) | ~Q(parent_id__in=ids))
    if not include_archived:
        query = query.filter(archived=False)
    return await query.order_by("sort_order", "id")


async def department(scope: DepartmentScope, department_id: int) -> Department | None:
    return await scope.filter(Department.filter(id=department_id), "id").first()


async def doctors(
    scope: DepartmentScope, department_id: int | None, include_archived: bool = False
) -> list[Doctor]:
    """A department's doctors, its sub-departments' included; every doctor in scope without one."""
    query = scope.filter(Doctor.all())
    if department_id is not None:
        family = Department.filter(parent_id=department_id).values_list("id", flat=True)
        query = query.filter(department_id__in=[department_id, *await family])
    if not include_archived:
        query = query.filter(archived=False)
    return await query.order_by("department_id", "id")


async def doctor(scope: DepartmentScope, doctor_id: int) -> Doctor | None:
    return await scope.filter(Doctor.filter(id=doctor_id)).first()


async def rooms(
    scope: DepartmentScope, department_id: int | None, include_archived: bool = False
) -> list[Room]:
    query = scope.filter(Room.all())
    if department_id is not None:
        query = query.filter(department_id=department_id)
    if not include_archived:
        query = query.filter(archived=False)
    return await query.order_by("department_id", "id")


async def registration_types(include_archived: bool = False) -> list[RegistrationType]:
    query = RegistrationType.all()
    if not include_archived:
        query = query.filter(archived=False)
    return await query.order_by("sort_order", "fee", "id")


# -- shared checks


async def _lock_departments(*ids: int) -> dict[int, Department]:
    rows = await Department.filter(id__in=sorted(set(ids))).select_for_update().order_by("id")
    return {row.id: row for row in rows}


def _require_active_department(row: Department | None, field: str) -> Department:
    if row is None or row.archived:
        raise InvalidInput(field, "no active department has this id")
    return row


def _require_top_level_parent(parent: Department | None) -> Department:
    parent = _require_active_department(parent, "parentId")
    if parent.parent_id is not None:
        raise DepartmentDepthExceeded(
            "a department may have at most two levels: the parent is itself a sub-department"
        )
    return parent


def _top_level_id(row: Department) -> int:
    parent_id: int | None = row.parent_id
    return parent_id if parent_id is not None else row.id


async def _require_room_for(department_row: Department, room_id: int, *, lock: bool) -> Room:
    # A doctor's default room belongs to the same top-level department (内科's rooms serve 消化内科).
    query = Room.filter(id=room_id)
    room = await (query.select_for_update() if lock else query).first()
    if room is None or room.archived:
        raise InvalidInput("roomId", "no active room has this id")
    room_department = await Department.get(id=room.department_id)
    if _top_level_id(room_department) != _top_level_id(department_row):
        raise InvalidInput("roomId", "the room belongs to another department")
    return room


def _actor(context: Context) -> int | None:
    return context.viewer.account_id


# -- departments


def _clean_department_fields(changes: Changes) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            cleaned[key] = clean_text("name", value, maximum=64)
        elif key == "code":
            cleaned[key] = clean_code(value)
        elif key == "description":
            cleaned[key] = clean_text("description", value, maximum=2000, required=False)
        elif key in {"building", "location"}:
            cleaned[key] = clean_text(key, value, maximum=64, required=False)
        elif key == "floor":
            cleaned[key] = clean_text("floor", value, maximum=16, required=False)
        elif key == "ticket_prefix":
            cleaned[key] = clean_ticket_prefix(value)
        elif key in {"sort_order", "parent_id"}:
            cleaned[key] = value
        else:
            raise InvalidInput(key, "unknown field")
    return cleaned


async def create_department(context: Context, fields: Changes) -> Department:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_department_fields(fields)
    for required in ("name", "code"):
        if required not in values:
            raise InvalidInput(required, f"{required} is required")
    parent_id: int | None = values.get("parent_id")
    try:
        async with in_transaction():
            if parent_id is not None:
                parent = _require_top_level_parent((await _lock_departments(parent_id)).get(parent_id))
                # A sub-department sits where its parent does unless told otherwise (issue 16.8).
                for inherited in ("building", "floor", "ticket_prefix"):
                    values.setdefault(inherited, getattr(parent, inherited))
            if await Department.filter(code=values["code"]).exists():
                raise DuplicateCode(values["code"])
            row = await Department.create(**values)
            await audit.record(
                _actor(context),
                "department.create",
                "department",
                row.id,
                after=audit.snapshot(row, DEPARTMENT_AUDIT_FIELDS),
            )
            return row
    except IntegrityError:
        raise DuplicateCode(values["code"]) from None


async def update_department(context: Context, department_id: int, changes: Changes) -> Department:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_department_fields(changes)
    new_parent_id: int | None = values.get("parent_id")
    try:
        async with in_transaction():
            locked = await _lock_departments(department_id, *([new_parent_id] if new_parent_id else []))
            row = locked.get(department_id)
            if row is None:
                raise NotFound("department not found")
            if new_parent_id is not None and new_parent_id != row.parent_id:
                if new_parent_id == row.id:
                    raise DepartmentDepthExceeded("a department cannot be its own parent")
                _require_top_level_parent(locked.get(new_parent_id))
                if await Department.filter(parent_id=row.id).exists():
                    raise DepartmentDepthExceeded(
                        "a department with sub-departments cannot become a sub-department"
                    )
            code_taken = Department.filter(code=values.get("code")).exclude(id=row.id)
            if "code" in values and await code_taken.exists():
                raise DuplicateCode(values["code"])
            before = audit.snapshot(row, DEPARTMENT_AUDIT_FIELDS)
            row.update_from_dict(values)
            after = audit.snapshot(row, DEPARTMENT_AUDIT_FIELDS)
            if after != before:
                await row.save(update_fields=list(values))
                await audit.record(
                    _actor(context), "department.update", "department", row.id, before=before, after=after
                )
            return row
    except IntegrityError:
        raise DuplicateCode(values.get("code", "")) from None


ArchivableRow = TypeVar("ArchivableRow", Department, Room, RegistrationType)


async def _archive(
    context: Context, row: ArchivableRow, kind: str, audit_fields: tuple[str, ...]
) -> ArchivableRow:
    """Archive a catalogue row (inside the caller's transaction) and audit the change."""
    before = audit.snapshot(row, audit_fields)
    row.archived = True
    await row.save(update_fields=["archived"])
    await audit.record(
        _actor(context),
        f"{kind}.archive",
        kind,
        row.id,
        before=before,
        after=audit.snapshot(row, audit_fields),
    )
    return row


async def archive_department(context: Context, department_id: int) -> Department:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    async with in_transaction():
        row = (await _lock_departments(department_id)).get(department_id)
        if row is None:
            raise NotFound("department not found")
        if row.archived:
            return row
        children = await Department.filter(parent_id=row.id, archived=False).count()
        if children:
            raise DepartmentHasActiveChildren(children)
        active_doctors = await Doctor.filter(department_id=row.id, archived=False).count()
        if active_doctors:
            raise DepartmentHasActiveDoctors(active_doctors)
        return await _archive(context, row, "department", DEPARTMENT_AUDIT_FIELDS)


# -- rooms


def _clean_room_fields(changes: Changes) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            cleaned[key] = clean_text("name", value, maximum=64)
        elif key == "building":
            cleaned[key] = clean_text("building", value, maximum=64, required=False)
        elif key == "floor":
            cleaned[key] = clean_text("floor", value, maximum=16, required=False)
        elif key == "department_id":
            cleaned[key] = value
        else:
            raise InvalidInput(key, "unknown field")
    return cleaned


async def create_room(context: Context, fields: Changes) -> Room:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_room_fields(fields)
    if "name" not in values or "department_id" not in values:
        raise InvalidInput("name" if "name" not in values else "departmentId", "required")
    async with in_transaction():
        department_id = values["department_id"]
        owner = _require_active_department(
            (await _lock_departments(department_id)).get(department_id), "departmentId"
        )
        # A room is where its department is unless told otherwise.
        values.setdefault("building", owner.building)
        values.setdefault("floor", owner.floor)
        row = await Room.create(**values)
        await audit.record(
            _actor(context), "room.create", "room", row.id, after=audit.snapshot(row, ROOM_AUDIT_FIELDS)
        )
        return row


async def update_room(context: Context, room_id: int, changes: Changes) -> Room:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_room_fields(changes)
    async with in_transaction():
        if "department_id" in values:
            department_id = values["department_id"]
            _require_active_department(
                (await _lock_departments(department_id)).get(department_id), "departmentId"
            )
        row = await Room.select_for_update().get_or_none(id=room_id)
        if row is None:
            raise NotFound("room not found")
        if values.get("department_id", row.department_id) != row.department_id:
            users = await Doctor.filter(room_id=row.id, archived=False).count()
            if users:
                raise RoomHasActiveDoctors(users)
        before = audit.snapshot(row, ROOM_AUDIT_FIELDS)
        row.update_from_dict(values)
        after = audit.snapshot(row, ROOM_AUDIT_FIELDS)
        if after != before:
            await row.save(update_fields=list(values))
            await audit.record(_actor(context), "room.update", "room", row.id, before=before, after=after)
        return row


async def archive_room(context: Context, room_id: int) -> Room:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    async with in_transaction():
        row = await Room.select_for_update().get_or_none(id=room_id)
        if row is None:
            raise NotFound("room not found")
        if row.archived:
            return row
        users = await Doctor.filter(room_id=row.id, archived=False).count()
        if users:
            raise RoomHasActiveDoctors(users)
        return await _archive(context, row, "room", ROOM_AUDIT_FIELDS)


# -- registration types


def _clean_registration_type_fields(changes: Changes) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            cleaned[key] = clean_text("name", value, maximum=32)
        elif key == "fee":
            cleaned[key] = clean_fee(value)
        elif key == "sort_order":
            cleaned[key] = value
        elif key in RESERVED_SHARE_BOUNDS:
            low, high = RESERVED_SHARE_BOUNDS[key]
            if value is None or not low <= value <= high:
                raise InvalidInput(key, f"between {low} and {high}")
            cleaned[key] = value
        else:
            raise InvalidInput(key, "unknown field")
    return cleaned


# The reserved shares' settings (decision 241) and their bounds.
RESERVED_SHARE_BOUNDS = {
    "desk_share_percent": (0, 100),
    "followup_share_percent": (0, 100),
    "staff_share_percent": (0, 100),
    "followup_window_days": (1, 3650),
    "reserved_release_minutes": (0, 7 * 24 * 60),
}


def _check_shares(row: RegistrationType) -> None:
    total = row.desk_share_percent + row.followup_share_percent + row.staff_share_percent
    if total > 100:
        raise InvalidInput("deskSharePercent", "the desk, 复诊 and staff shares add up to at most 100 %")


async def create_registration_type(context: Context, fields: Changes) -> RegistrationType:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_registration_type_fields(fields)
    for required in ("name", "fee"):
        if required not in values:
            raise InvalidInput(required, f"{required} is required")
    try:
        async with in_transaction():
            if await RegistrationType.filter(name=values["name"]).exists():
                raise DuplicateName(values["name"])
            _check_shares(RegistrationType(**values))
            row = await RegistrationType.create(**values)
            await audit.record(
                _actor(context),
                "registration_type.create",
                "registration_type",
                row.id,
                after=audit.snapshot(row, REGISTRATION_TYPE_AUDIT_FIELDS),
            )
            return row
    except IntegrityError:
        raise DuplicateName(values["name"]) from None


async def update_registration_type(context: Context, type_id: int, changes: Changes) -> RegistrationType:
    """A new fee applies to sessions created afterwards; existing sessions keep the fee they copied."""
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_registration_type_fields(changes)
    try:
        async with in_transaction():
            row = await RegistrationType.select_for_update().get_or_none(id=type_id)
            if row is None:
                raise NotFound("registration type not found")
            name_taken = RegistrationType.filter(name=values.get("name")).exclude(id=row.id)
            if "name" in values and await name_taken.exists():
                raise DuplicateName(values["name"])
            before = audit.snapshot(row, REGISTRATION_TYPE_AUDIT_FIELDS)
            row.update_from_dict(values)
            _check_shares(row)
            after = audit.snapshot(row, REGISTRATION_TYPE_AUDIT_FIELDS)
            if after != before:
                await row.save(update_fields=list(values))
                await audit.record(
                    _actor(context),
                    "registration_type.update",
                    "registration_type",
                    row.id,
                    before=before,
                    after=after,
                )
            return row
    except IntegrityError:
        raise DuplicateName(values.get("name", "")) from None


async def archive_registration_type(context: Context, type_id: int) -> RegistrationType:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    async with in_transaction():
        row = await RegistrationType.select_for_update().get_or_none(id=type_id)
        if row is None:
            raise NotFound("registration type not found")
        if row.archived:
            return row
        return await _archive(context, row, "registration_type", REGISTRATION_TYPE_AUDIT_FIELDS)


# -- doctors


def _clean_doctor_fields(changes: Changes) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            cleaned[key] = clean_name(value)
        elif key == "title":
            cleaned[key] = clean_text("title", value, maximum=32)
        elif key == "introduction":
            cleaned[key] = clean_text("introduction", value, maximum=2000, required=False)
        elif key in {"department_id", "room_id"}:
            cleaned[key] = value
        else:
            raise InvalidInput(key, "unknown field")
    return cleaned


def _doctor_snapshot(row: Doctor, phone: str) -> dict[str, Any]:
    return {**audit.snapshot(row, DOCTOR_AUDIT_FIELDS), "phone": mask_phone(phone)}


async def create_doctor(context: Context, fields: Changes, phone: str, password: str) -> Doctor:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_doctor_fields(fields)
    for required in ("name", "title", "department_id"):
        if required not in values:
            raise InvalidInput(required, f"{required} is required")
    phone = clean_phone(phone)
    password_hash = await hash_password_off_loop(clean_password(password))
    try:
        async with in_transaction():
            department_id = values["department_id"]
            home = _require_active_department(
                (await _lock_departments(department_id)).get(department_id), "departmentId"
            )
            if values.get("room_id") is not None:
                await _require_room_for(home, values["room_id"], lock=True)
            if await Account.filter(phone=phone).exists():
                raise PhoneTaken()
            login = await Account.create(
                phone=phone, password_hash=password_hash, name=values["name"], role=Role.DOCTOR
            )
            row = await Doctor.create(account=login, **values)
            await audit.record(
                _actor(context), "doctor.create", "doctor", row.id, after=_doctor_snapshot(row, phone)
            )
            return row
    except IntegrityError:
        raise PhoneTaken() from None


async def update_doctor(context: Context, doctor_id: int, changes: Changes) -> Doctor:
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    values = _clean_doctor_fields(changes)
    async with in_transaction():
        current = await Doctor.get_or_none(id=doctor_id)
        if current is None:
            raise NotFound("doctor not found")
        department_id: int = values.get("department_id") or current.department_id
        home = (await _lock_departments(department_id)).get(department_id)
        if "department_id" in values:
            home = _require_active_department(home, "departmentId")
        assert home is not None  # a doctor's department cannot be deleted (RESTRICT)
        room_id = values.get("room_id", current.room_id)
        if room_id is not None and ("room_id" in values or "department_id" in values):
            await _require_room_for(home, room_id, lock=True)
        row = await Doctor.select_for_update().get(id=doctor_id)
        login = await Account.get(id=row.account_id)
        before = _doctor_snapshot(row, login.phone)
        row.update_from_dict(values)
        after = _doctor_snapshot(row, login.phone)
        if after != before:
            await row.save(update_fields=list(values))
            if "name" in values and login.name != values["name"]:
                login.name = values["name"]
                await login.save(update_fields=["name"])
            await audit.record(_actor(context), "doctor.update", "doctor", row.id, before=before, after=after)
        return row


async def archive_doctor(context: Context, doctor_id: int) -> Doctor:
    """An archived doctor leaves the lists and can no longer log in; past bookings still name them."""
    public_changes.note(public_changes.CATALOGUE)  # after commit: every process re-reads it
    async with in_transaction():
        row = await Doctor.select_for_update().get_or_none(id=doctor_id)
        if row is None:
            raise NotFound("doctor not found")
        if row.archived:
            return row
        login = await Account.get(id=row.account_id)
        before = _doctor_snapshot(row, login.phone)
        row.archived = True
        await row.save(update_fields=["archived"])
        login.disabled, login.disabled_reason = True, "doctor archived"
        await login.save(update_fields=["disabled", "disabled_reason"])
        revoked = await revoke_all_sessions(login.id, context.settings.access_token_lifetime)
        await audit.record(
            _actor(context),
            "doctor.archive",
            "doctor",
            row.id,
            before=before,
            after=_doctor_snapshot(row, login.phone),
        )
    access_revocations.remember(revoked)  # at once here; other processes at their next refresh
    return row
