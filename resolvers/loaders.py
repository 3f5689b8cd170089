"""Every DataLoader of the application, named <Target>By<Key>Loader (decision 138).

Obtain them with `info.context.loader(RoomByIdLoader)`: the context holds them for one operation (an
HTTP request; on a WebSocket each operation, and each event of a subscription, starts afresh), never
for a socket's lifetime. Each batch is one query. `…ById` loaders return archived rows too (a past
booking still names its doctor); list loaders return every row of
the key, archived ones included, in display order, and let the field decide what to show.
Loaders of department data (those naming a `department_column`) return only the rows of the caller's
department scope (decision 220): to a scoped partner key a department outside it does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from models.accounts import Account, Patient
from models.booking import BookingEvent
from models.catalogue import Department, Doctor, Room
from models.department_scope import EVERY_DEPARTMENT, DepartmentScope
from models.navigation import Floor
from models.scheduling import Schedule, Slot
from models.waitlist.entries import positions as waitlist_positions

M = TypeVar("M", bound=Model)


class DepartmentScoped:
    """Told the caller's scope by `Context.loader`; `department_column` names the row's department."""

    department_column: str | None = None
    scope: DepartmentScope = EVERY_DEPARTMENT


class _ById(DataLoader[int, M | None], DepartmentScoped, Generic[M]):
    model: type[M]

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[M | None]:
        query = self.model.filter(id__in=set(keys))
        if self.department_column is not None:
            query = self.scope.filter(query, self.department_column)
        rows = await query
        found: dict[Any, M] = {row.pk: row for row in rows}
        return [found.get(key) for key in keys]


class _ByForeignKey(DataLoader[int, list[M]], DepartmentScoped, Generic[M]):
    model: type[M]
    key_column: str
    ordering: tuple[str, ...] = ("id",)

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[list[M]]:
        query = self.model.filter(**{f"{self.key_column}__in": set(keys)})
        if self.department_column is not None:
            query = self.scope.filter(query, self.department_column)
        rows = await query.order_by(*self.ordering)
        grouped: dict[int, list[M]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, self.key_column)].append(row)
        return [grouped.get(key, []) for key in keys]


class AccountByIdLoader(_ById[Account]):
    model = Account


class DepartmentByIdLoader(_ById[Department]):
    model = Department
    department_column = "id"


class RoomByIdLoader(_ById[Room]):
    model = Room
    department_column = "department_id"


class DoctorByIdLoader(_ById[Doctor]):
    model = Doctor
    department_column = "department_id"


class PatientByIdLoader(_ById[Patient]):
    model = Patient


class ScheduleByIdLoader(_ById[Schedule]):
    model = Schedule


class DepartmentsByParentLoader(_ByForeignKey[Department]):
    model = Department
    department_column = "id"
    key_column = "parent_id"
    ordering = ("sort_order", "id")


class DoctorsByDepartmentLoader(_ByForeignKey[Doctor]):
    model = Doctor
    department_column = "department_id"
    key_column = "department_id"


class RoomsByDepartmentLoader(_ByForeignKey[Room]):
    model = Room
    department_column = "department_id"
    key_column = "department_id"


class PatientsByAccountLoader(_ByForeignKey[Patient]):
    model = Patient
    key_column = "account_id"


class DoctorByAccountLoader(DataLoader[int, Doctor | None]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[Doctor | None]:
        rows = await Doctor.filter(account_id__in=set(keys))
        found = {row.account_id: row for row in rows}
        return [found.get(key) for key in keys]


class BookingEventsByBookingLoader(_ByForeignKey[BookingEvent]):
    model = BookingEvent
    key_column = "booking_id"


class SlotsByScheduleLoader(_ByForeignKey[Slot]):
    """Every slot of each session in one query: browsing costs a constant number of queries."""

    model = Slot
    key_column = "schedule_id"
    ordering = ("starts_at", "id")


class FloorsByBuildingLoader(_ByForeignKey[Floor]):
    model = Floor
    key_column = "building_id"
    ordering = ("level", "id")


class WaitlistPositionByEntryLoader(DataLoader[int, int]):
    def __init__(self) -> None:
        super().__init__(load_fn=waitlist_positions)
