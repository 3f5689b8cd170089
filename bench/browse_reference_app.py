"""The reference for bench/browse.py: bare strawberry (parser and validation caches on) answering the
same browse queries with the same rows, held in memory (no database, no authentication, no limits).

    BENCH_BROWSE_ROWS=/tmp/rows.json uvicorn bench.browse_reference_app:app --port 8100

The rows file is written by bench/browse.py from the database it seeded.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

ROWS: dict[str, Any] = json.loads(Path(os.environ["BENCH_BROWSE_ROWS"]).read_text())


@strawberry.type
class Slot:
    id: strawberry.ID
    start: datetime
    end: datetime
    capacity: int
    remaining: int
    desk_remaining: int
    bookable: bool


@strawberry.type
class Schedule:
    id: strawberry.ID
    doctor_id: strawberry.ID
    department_id: strawberry.ID
    date: date
    period: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    fee: int
    status: str
    remaining: int
    slots: list[Slot]


@strawberry.type
class Doctor:
    id: strawberry.ID
    name: str
    title: str


@strawberry.type
class Department:
    id: strawberry.ID
    name: str
    code: str
    doctors: list[Doctor]


def _slot(row: dict[str, Any]) -> Slot:
    return Slot(
        id=strawberry.ID(str(row["id"])),
        start=datetime.fromisoformat(row["start"]),
        end=datetime.fromisoformat(row["end"]),
        capacity=row["capacity"],
        remaining=row["remaining"],
        desk_remaining=row["desk_remaining"],
        bookable=row["bookable"],
    )


def _schedule(row: dict[str, Any]) -> Schedule:
    slots = [_slot(slot) for slot in row["slots"]]
    return Schedule(
        id=strawberry.ID(str(row["id"])),
        doctor_id=strawberry.ID(str(row["doctor_id"])),
        department_id=strawberry.ID(str(row["department_id"])),
        date=date.fromisoformat(row["date"]),
        period=row["period"],
        starts_at=datetime.fromisoformat(row["starts_at"]),
        ends_at=datetime.fromisoformat(row["ends_at"]),
        capacity=row["capacity"],
        fee=row["fee"],
        status=row["status"],
        remaining=sum(slot.remaining for slot in slots),
        slots=slots,
    )


SCHEDULES = [_schedule(row) for row in ROWS["schedules"]]
DEPARTMENTS = [
    Department(
        id=strawberry.ID(str(row["id"])),
        name=row["name"],
        code=row["code"],
        doctors=[
            Doctor(id=strawberry.ID(str(d["id"])), name=d["name"], title=d["title"]) for d in row["doctors"]
        ],
    )
    for row in ROWS["departments"]
]


@strawberry.type
class Query:
    @strawberry.field
    def departments(self) -> list[Department]:
        return DEPARTMENTS

    @strawberry.field
    def schedules(
        self,
        date_from: date,
        date_to: date,
        department_id: strawberry.ID | None = None,
        doctor_id: strawberry.ID | None = None,
    ) -> list[Schedule]:
        return [
            row
            for row in SCHEDULES
            if date_from <= row.date <= date_to
            and (department_id is None or row.department_id == department_id)
            and (doctor_id is None or row.doctor_id == doctor_id)
        ]


async def ready(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ready"})


schema = strawberry.Schema(
    query=Query, extensions=[lambda: ParserCache(maxsize=64), lambda: ValidationCache(maxsize=64)]
)
app = Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"]), Route("/readyz", ready)])
