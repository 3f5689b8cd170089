"""GraphQL surface of the catalogue: departments (two levels), rooms, registration types, doctors.

Reads are public (patients browse before logging in); writes are admin-only and audited.
Relations load through the DataLoaders of resolvers/loaders.py.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types.info import Info

from models import catalogue as catalogue_models
from models.catalogue import (
    DepartmentDepthExceeded,
    DepartmentHasActiveChildren,
    DepartmentHasActiveDoctors,
    DuplicateCode,
    DuplicateName,
    RoomHasActiveDoctors,
)
from resolvers import catalogue as use_cases
from resolvers.loaders import (
    AccountByIdLoader,
    DepartmentByIdLoader,
    DepartmentsByParentLoader,
    DoctorsByDepartmentLoader,
    RoomByIdLoader,
    RoomsByDepartmentLoader,
)
from schema.accounts import PhoneTakenError
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_id, parse_optional_id
from schema.list_bounds import planned
from schema.permissions import IsAdmin

if TYPE_CHECKING:
    from schema.accounts import Account


# The catalogue is the hospital's own (decision 211): sizes a hospital of ours is planned for.
PLANNED_TOP_DEPARTMENTS = 30
PLANNED_SUB_DEPARTMENTS = 10
PLANNED_DOCTORS_PER_DEPARTMENT = 20
PLANNED_ROOMS_PER_DEPARTMENT = 10
PLANNED_DOCTORS = 500
PLANNED_ROOMS = 300
PLANNED_REGISTRATION_TYPES = 20


def _active(rows: list[Any], include_archived: bool) -> list[Any]:
    return rows if include_archived else [row for row in rows if not row.archived]


@strawberry.type(description="A clinical department; sub-departments have a parent, and no children.")
class Department:
    id: strawberry.ID
    name: str
    code: str
    description: str
    building: str
    floor: str
    location: str
    ticket_prefix: str = strawberry.field(description="Letter(s) before queue numbers, e.g. A012.")
    sort_order: int
    archived: bool
    _id: strawberry.Private[int]
    _parent_id: strawberry.Private[int | None]

    @strawberry.field(description="1 for a department, 2 for a sub-department.")
    def level(self) -> int:
        return 1 if self._parent_id is None else 2

    @strawberry.field
    async def parent(self, info: Info) -> Department | None:
        if self._parent_id is None:
            return None
        row = await info.context.loader(DepartmentByIdLoader).load(self._parent_id)
        return Department.from_model(row) if row else None

    @strawberry.field(metadata=planned(PLANNED_SUB_DEPARTMENTS))
    async def children(self, info: Info, include_archived: bool = False) -> list[Department]:
        rows = await info.context.loader(DepartmentsByParentLoader).load(self._id)
        return [Department.from_model(row) for row in _active(rows, include_archived)]

    @strawberry.field(
        description="Doctors of this department itself (not of its sub-departments).",
        metadata=planned(PLANNED_DOCTORS_PER_DEPARTMENT),
    )
    async def doctors(self, info: Info, include_archived: bool = False) -> list[Doctor]:
        rows = await info.context.loader(DoctorsByDepartmentLoader).load(self._id)
        return [Doctor.from_model(row) for row in _active(rows, include_archived)]

    @strawberry.field(metadata=planned(PLANNED_ROOMS_PER_DEPARTMENT))
    async def rooms(self, info: Info, include_archived: bool = False) -> list[Room]:
        rows = await info.context.loader(RoomsByDepartmentLoader).load(self._id)
        return [Room.from_model(row) for row in _active(rows, include_archived)]

    @classmethod
    def from_model(cls, row: catalogue_models.Department) -> Department:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            code=row.code,
            description=row.description,
            building=row.building,
            floor=row.floor,
            location=row.location,
            ticket_prefix=row.ticket_prefix,
            sort_order=row.sort_order,
            archived=row.archived,
            _id=row.id,
            _parent_id=row.parent_id,
        )


@strawberry.type(description="A clinic room (诊室).")
class Room:
    id: strawberry.ID
    name: str
    building: str
    floor: str
    archived: bool
    _department_id: strawberry.Private[int]

    @strawberry.field
    async def department(self, info: Info) -> Department:
        row = await info.context.loader(DepartmentByIdLoader).load(self._department_id)
        return Department.from_model(row)

    @classmethod
    def from_model(cls, row: catalogue_models.Room) -> Room:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            building=row.building,
            floor=row.floor,
            archived=row.archived,
            _department_id=row.department_id,
        )


@strawberry.type(description="A registration type (号别), e.g. 普通号 or 专家号.")
class RegistrationType:
    id: strawberry.ID
    name: str
    fee: int = strawberry.field(description="In fen (1 yuan = 100 fen).")
    sort_order: int
    archived: bool
    desk_share_percent: int = strawberry.field(description="现场号: % of each slot kept for the desk.")
    followup_share_percent: int = strawberry.field(
        description="复诊号: % of each slot kept for patients with a completed visit in the department "
        "within followupWindowDays."
    )
    followup_window_days: int
    staff_share_percent: int = strawberry.field(
        description="% of each slot kept for accounts marked as staff or students."
    )
    reserved_release_minutes: int = strawberry.field(
        description="Minutes before a session starts when its unsold 复诊 and staff seats open to everyone."
    )

    @classmethod
    def from_model(cls, row: catalogue_models.RegistrationType) -> RegistrationType:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            fee=row.fee,
            sort_order=row.sort_order,
            archived=row.archived,
            desk_share_percent=row.desk_share_percent,
            followup_share_percent=row.followup_share_percent,
            followup_window_days=row.followup_window_days,
            staff_share_percent=row.staff_share_percent,
            reserved_release_minutes=row.reserved_release_minutes,
        )


@strawberry.type
class Doctor:
    id: strawberry.ID
    name: str
    title: str = strawberry.field(description="e.g. 主任医师, 副主任医师, 主治医师.")
    introduction: str
    archived: bool
    _department_id: strawberry.Private[int]
    _room_id: strawberry.Private[int | None]
    _account_id: strawberry.Private[int]

    @strawberry.field
    async def department(self, info: Info) -> Department:
        row = await info.context.loader(DepartmentByIdLoader).load(self._department_id)
        return Department.from_model(row)

    @strawberry.field(description="The doctor's default clinic room.")
    async def room(self, info: Info) -> Room | None:
        if self._room_id is None:
            return None
        row = await info.context.loader(RoomByIdLoader).load(self._room_id)
        return Room.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsAdmin], description="The doctor's login; administrators only.")
    async def account(self, info: Info) -> Annotated[Account, strawberry.lazy("schema.accounts")]:
        # Account and Doctor refer to each other; the type is imported when the field resolves (decision 200).
        from schema.accounts import Account  # noqa: PLC0415

        row = await info.context.loader(AccountByIdLoader).load(self._account_id)
        return Account.from_model(row)

    @classmethod
    def from_model(cls, row: catalogue_models.Doctor) -> Doctor:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            title=row.title,
            introduction=row.introduction,
            archived=row.archived,
            _department_id=row.department_id,
            _room_id=row.room_id,
            _account_id=row.account_id,
        )


# -- expected errors


@maps(DuplicateCode)
@strawberry.type
class DuplicateCodeError(Error):
    department_code: str  # `code` is the ErrorCode every Error carries


@maps(DuplicateName)
@strawberry.type
class DuplicateNameError(Error):
    name: str


@maps(DepartmentDepthExceeded)
@strawberry.type(description="A department may have at most two levels.")
class DepartmentDepthExceededError(Error):
    pass


@maps(DepartmentHasActiveDoctors)
@strawberry.type
class DepartmentHasActiveDoctorsError(Error):
    doctor_count: int


@maps(DepartmentHasActiveChildren)
@strawberry.type
class DepartmentHasActiveChildrenError(Error):
    child_count: int


@maps(RoomHasActiveDoctors)
@strawberry.type
class RoomHasActiveDoctorsError(Error):
    doctor_count: int


CreateDepartmentResult = Annotated[
    Department | InvalidInputError | DuplicateCodeError | DepartmentDepthExceededError,
    strawberry.union("CreateDepartmentResult"),
]
UpdateDepartmentResult = Annotated[
    Department | InvalidInputError | NotFoundError | DuplicateCodeError | DepartmentDepthExceededError,
    strawberry.union("UpdateDepartmentResult"),
]
ArchiveDepartmentResult = Annotated[
    Department
    | InvalidInputError
    | NotFoundError
    | DepartmentHasActiveChildrenError
    | DepartmentHasActiveDoctorsError,
    strawberry.union("ArchiveDepartmentResult"),
]
CreateRoomResult = Annotated[Room | InvalidInputError, strawberry.union("CreateRoomResult")]
UpdateRoomResult = Annotated[
    Room | InvalidInputError | NotFoundError | RoomHasActiveDoctorsError, strawberry.union("UpdateRoomResult")
]
ArchiveRoomResult = Annotated[
    Room | InvalidInputError | NotFoundError | RoomHasActiveDoctorsError,
    strawberry.union("ArchiveRoomResult"),
]
CreateRegistrationTypeResult = Annotated[
    RegistrationType | InvalidInputError | DuplicateNameError,
    strawberry.union("CreateRegistrationTypeResult"),
]
UpdateRegistrationTypeResult = Annotated[
    RegistrationType | InvalidInputError | NotFoundError | DuplicateNameError,
    strawberry.union("UpdateRegistrationTypeResult"),
]
ArchiveRegistrationTypeResult = Annotated[
    RegistrationType | InvalidInputError | NotFoundError, strawberry.union("ArchiveRegistrationTypeResult")
]
CreateDoctorResult = Annotated[
    Doctor | InvalidInputError | PhoneTakenError, strawberry.union("CreateDoctorResult")
]
UpdateDoctorResult = Annotated[
    Doctor | InvalidInputError | NotFoundError, strawberry.union("UpdateDoctorResult")
]
ArchiveDoctorResult = Annotated[
    Doctor | InvalidInputError | NotFoundError, strawberry.union("ArchiveDoctorResult")
]


# -- inputs. Update inputs: an omitted field stays as it is; `null` clears parentId / roomId.


@strawberry.input
class CreateDepartmentInput:
    name: str
    code: str = strawberry.field(description="Unique, e.g. NK or NK-XH; letters are upper-cased.")
    parent_id: strawberry.ID | None = None
    description: str | None = strawberry.UNSET
    building: str | None = strawberry.UNSET
    floor: str | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    ticket_prefix: str | None = strawberry.UNSET
    sort_order: int | None = strawberry.UNSET


@strawberry.input
class UpdateDepartmentInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    building: str | None = strawberry.UNSET
    floor: str | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    ticket_prefix: str | None = strawberry.UNSET
    sort_order: int | None = strawberry.UNSET


@strawberry.input
class CreateRoomInput:
    name: str
    department_id: strawberry.ID
    building: str | None = strawberry.field(
        default=strawberry.UNSET, description="Default: the department's."
    )
    floor: str | None = strawberry.field(default=strawberry.UNSET, description="Default: the department's.")


@strawberry.input
class UpdateRoomInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    department_id: strawberry.ID | None = strawberry.UNSET
    building: str | None = strawberry.UNSET
    floor: str | None = strawberry.UNSET


@strawberry.input
class CreateRegistrationTypeInput:
    name: str
    fee: int = strawberry.field(description="In fen (1 yuan = 100 fen).")
    sort_order: int | None = strawberry.UNSET
    desk_share_percent: int | None = strawberry.UNSET
    followup_share_percent: int | None = strawberry.UNSET
    followup_window_days: int | None = strawberry.UNSET
    staff_share_percent: int | None = strawberry.UNSET
    reserved_release_minutes: int | None = strawberry.UNSET


@strawberry.input
class UpdateRegistrationTypeInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    fee: int | None = strawberry.UNSET
    sort_order: int | None = strawberry.UNSET
    desk_share_percent: int | None = strawberry.UNSET
    followup_share_percent: int | None = strawberry.UNSET
    followup_window_days: int | None = strawberry.UNSET
    staff_share_percent: int | None = strawberry.UNSET
    reserved_release_minutes: int | None = strawberry.UNSET


@strawberry.input
class CreateDoctorInput:
    name: str
    title: str
    department_id: strawberry.ID
    room_id: strawberry.ID | None = None
    phone: str = strawberry.field(description="The doctor's login.")
    password: str
    introduction: str | None = strawberry.UNSET


@strawberry.input
class UpdateDoctorInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    department_id: strawberry.ID | None = strawberry.UNSET
    room_id: strawberry.ID | None = strawberry.UNSET
    introduction: str | None = strawberry.UNSET


# Id fields of the inputs, with their GraphQL spelling for error messages; null clears them.
_NULLABLE_IDS = {"parent_id": "parentId", "room_id": "roomId"}
_IDS = {**_NULLABLE_IDS, "department_id": "departmentId"}


def given_fields(data: object, skip: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    """The fields a client sent, ids parsed; `null` counts only where it clears a reference."""
    values: dict[str, Any] = {}
    for item in dataclasses.fields(data):  # type: ignore[arg-type]
        value = getattr(data, item.name)
        if item.name in skip or value is strawberry.UNSET:
            continue
        if value is None:
            if item.name in _NULLABLE_IDS:
                values[item.name] = None
            continue
        values[item.name] = parse_id(value, _IDS[item.name]) if item.name in _IDS else value
    return values


@strawberry.type
class Query:
    @strawberry.field(
        description="Top-level departments in display order; sub-departments under `children`.",
        metadata=planned(PLANNED_TOP_DEPARTMENTS),
    )
    async def departments(self, info: Info, include_archived: bool = False) -> list[Department]:
        rows = await use_cases.top_departments(info.context.departments, include_archived)
        return [Department.from_model(row) for row in rows]

    @strawberry.field
    async def department(self, info: Info, id: strawberry.ID) -> Department | None:
        row = await use_cases.department(info.context.departments, parse_id(id))
        return Department.from_model(row) if row else None

    @strawberry.field(
        description="A department's doctors including its sub-departments'; all when omitted.",
        metadata=planned(PLANNED_DOCTORS),
    )
    async def doctors(
        self, info: Info, department_id: strawberry.ID | None = None, include_archived: bool = False
    ) -> list[Doctor]:
        department = parse_optional_id(department_id, "departmentId")
        rows = await use_cases.doctors(info.context.departments, department, include_archived)
        return [Doctor.from_model(row) for row in rows]

    @strawberry.field
    async def doctor(self, info: Info, id: strawberry.ID) -> Doctor | None:
        row = await use_cases.doctor(info.context.departments, parse_id(id))
        return Doctor.from_model(row) if row else None

    @strawberry.field(metadata=planned(PLANNED_ROOMS))
    async def rooms(
        self, info: Info, department_id: strawberry.ID | None = None, include_archived: bool = False
    ) -> list[Room]:
        department = parse_optional_id(department_id, "departmentId")
        rows = await use_cases.rooms(info.context.departments, department, include_archived)
        return [Room.from_model(row) for row in rows]

    @strawberry.field(metadata=planned(PLANNED_REGISTRATION_TYPES))
    async def registration_types(self, include_archived: bool = False) -> list[RegistrationType]:
        return [
            RegistrationType.from_model(row) for row in await use_cases.registration_types(include_archived)
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_department(self, info: Info, input: CreateDepartmentInput) -> CreateDepartmentResult:
        row = await use_cases.create_department(info.context, given_fields(input))
        return Department.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_department(self, info: Info, input: UpdateDepartmentInput) -> UpdateDepartmentResult:
        row = await use_cases.update_department(info.context, parse_id(input.id), given_fields(input))
        return Department.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def archive_department(self, info: Info, id: strawberry.ID) -> ArchiveDepartmentResult:
        return Department.from_model(await use_cases.archive_department(info.context, parse_id(id)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_room(self, info: Info, input: CreateRoomInput) -> CreateRoomResult:
        return Room.from_model(await use_cases.create_room(info.context, given_fields(input)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_room(self, info: Info, input: UpdateRoomInput) -> UpdateRoomResult:
        row = await use_cases.update_room(info.context, parse_id(input.id), given_fields(input))
        return Room.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def archive_room(self, info: Info, id: strawberry.ID) -> ArchiveRoomResult:
        return Room.from_model(await use_cases.archive_room(info.context, parse_id(id)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_registration_type(
        self, info: Info, input: CreateRegistrationTypeInput
    ) -> CreateRegistrationTypeResult:
        row = await use_cases.create_registration_type(info.context, given_fields(input))
        return RegistrationType.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_registration_type(
        self, info: Info, input: UpdateRegistrationTypeInput
    ) -> UpdateRegistrationTypeResult:
        row = await use_cases.update_registration_type(info.context, parse_id(input.id), given_fields(input))
        return RegistrationType.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def archive_registration_type(self, info: Info, id: strawberry.ID) -> ArchiveRegistrationTypeResult:
        return RegistrationType.from_model(
            await use_cases.archive_registration_type(info.context, parse_id(id))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Also creates the doctor's login (role doctor)."
    )
    async def create_doctor(self, info: Info, input: CreateDoctorInput) -> CreateDoctorResult:
        fields = given_fields(input, skip=("phone", "password"))
        row = await use_cases.create_doctor(info.context, fields, input.phone, input.password)
        return Doctor.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_doctor(self, info: Info, input: UpdateDoctorInput) -> UpdateDoctorResult:
        row = await use_cases.update_doctor(info.context, parse_id(input.id), given_fields(input))
        return Doctor.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Also disables the doctor's login.")
    async def archive_doctor(self, info: Info, id: strawberry.ID) -> ArchiveDoctorResult:
        return Doctor.from_model(await use_cases.archive_doctor(info.context, parse_id(id)))
