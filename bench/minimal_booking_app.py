"""The reference for bench/flash_crowd.py: a minimal strawberry app whose one mutation does only the
conditional UPDATE of a seat counter and the INSERT of a booking row, in one transaction, through
tortoise, with strawberry's parser and validation caches on. No authentication, no rules, no audit.

    GUALEMA_DATABASE_URL=... uvicorn bench.minimal_booking_app:app --port 8100 --workers 1

Its tables (bench_slot, bench_booking) are created by bench/flash_crowd.py before it starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from tortoise import Tortoise, fields
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from gualema.database import connection_config


class BenchSlot(Model):
    id = fields.IntField(primary_key=True)
    remaining = fields.IntField()

    class Meta:
        table = "bench_slot"
        app = "bench"


class BenchBooking(Model):
    id = fields.IntField(primary_key=True)
    slot_id = fields.IntField()
    patient_id = fields.IntField()

    class Meta:
        table = "bench_booking"
        app = "bench"


@strawberry.type
class Booked:
    id: int


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def book(self, slot_id: int, patient_id: int) -> Booked | None:
        async with in_transaction("bench"):
            taken = await BenchSlot.filter(id=slot_id, remaining__gt=0).update(remaining=F("remaining") - 1)
            if taken != 1:
                return None
            row = await BenchBooking.create(slot_id=slot_id, patient_id=patient_id)
        return Booked(id=row.id)


def tortoise_config(url: str) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    return {
        "connections": {"bench": connection_config(url, int(os.environ.get("GUALEMA_DB_POOL_SIZE", "10")))},
        "apps": {"bench": {"models": [__name__], "default_connection": "bench"}},
        "use_tz": True,
    }


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    await Tortoise.init(
        config=tortoise_config(os.environ["GUALEMA_DATABASE_URL"]), _enable_global_fallback=True
    )
    yield
    await Tortoise.close_connections()


async def ready(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ready"})


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[lambda: ParserCache(maxsize=64), lambda: ValidationCache(maxsize=64)],
)
app = Starlette(
    routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"]), Route("/readyz", ready)],
    lifespan=lifespan,
)
