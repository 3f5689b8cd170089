"""Which departments' data a caller may read: every department, or a partner key's departments with
their sub-departments (docs/decisions/220). Reads filter by it where the data is loaded, so a scoped
caller cannot reach another department's rows by omitting a variable or taking another field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.catalogue import Department

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class DepartmentScope:
    department_ids: frozenset[int] | None = None  # None: every department

    @property
    def is_limited(self) -> bool:
        return self.department_ids is not None

    def allows(self, department_id: int) -> bool:
        return self.department_ids is None or department_id in self.department_ids

    def filter(self, query: QuerySet[M], column: str = "department_id") -> QuerySet[M]:
        """Rows whose `column` names a department in scope."""
        if self.department_ids is None:
            return query
        return query.filter(**{f"{column}__in": sorted(self.department_ids)})

    def filter_or_hospital_wide(self, query: QuerySet[M], column: str = "department_id") -> QuerySet[M]:
        """Rows of a department in scope, and rows of no department (they concern the whole hospital)."""
        if self.department_ids is None:
            return query
        hospital_wide: dict[str, Any] = {f"{column}__isnull": True}
        in_scope: dict[str, Any] = {f"{column}__in": sorted(self.department_ids)}
        return query.filter(Q(**hospital_wide) | Q(**in_scope))


EVERY_DEPARTMENT = DepartmentScope()


async def scope_of(granted: Iterable[int]) -> DepartmentScope:
    """The granted departments and their sub-departments; nothing granted means every department.
    Read per request, so a sub-department created since the key was issued is in scope at once."""
    ids = set(granted)
    if not ids:
        return EVERY_DEPARTMENT
    children = cast(
        "list[int]", await Department.filter(parent_id__in=sorted(ids)).values_list("id", flat=True)
    )
    return DepartmentScope(frozenset(ids | set(children)))
