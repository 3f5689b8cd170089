"""Every DataLoader of the application, named <Target>By<Key>Loader (decision 138).

Obtain them with `info.context.loader(RoomByIdLoader)`: the context holds them for one operation (an
HTTP request; on a WebSocket each operation, and each event of a subscription, starts afresh), never
for a socket's lifetime. Each batch is one query. `…ById` loaders return archived rows too (a past
booking still names its doctor); list loaders return every row of
the key, archived ones included, in display order, and let the field decide what to show.
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
from models.navigation import Floor
from models.scheduling import Schedule, Slot
from models.waitlist.entries import positions as waitlist_positions

M = TypeVar("M", bound=Model)


class _ById(DataLoader[int, M | None], Generic[M]):
    model: type[M]

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[M | None]:
        rows = await self.model.filter(id__in=set(keys))
        found: dict[Any, M] = {row.pk: row for row in rows}
        return [found.get(key) for key in keys]


class _ByForeignKey(DataLoader[int, list[M]], Generic[M]):
    model: type[M]
    key_column: str
    ordering: tuple[str, ...] = ("id",)

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[list[M]]:
        rows = await self.model.filter(**{f"{self.key_column}__in": set(keys)}).order_by(*self.ordering)
        grouped: dict[int, list[M]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, self.key_column)].append(row)
        return [grouped.get(key, []) for key in keys]


class AccountByIdLoader(_ById[Account]):
    model = Account


class DepartmentByIdLoader(_ById[Department]):
    model = Department


class RoomByIdLoader(_ById[Room]):
    model = Room


class DoctorByIdLoader(_ById[Doctor]):
    model = Doctor


class PatientByIdLoader(_ById[Patient]):
    model = Patient


class ScheduleByIdLoader(_ById[Schedule]):
    model = Schedule


class DepartmentsByParentLoader(_ByForeignKey[Department]):
    model = Department
    key_column = "parent_id"
    ordering = ("sort_order", "id")


class DoctorsByDepartmentLoader(_ByForeignKey[Doctor]):
    model = Doctor
    key_column = "department_id"


class RoomsByDepartmentLoader(_ByForeignKey[Room]):
    model = Room
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
