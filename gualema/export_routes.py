"""`/exports/kpis.{csv,xlsx}` and `/exports/bookings.{csv,xlsx}` for administrators (issue 15).

The administrator's access token comes in the Authorization header, as for GraphQL. Filters are query
parameters named as in GraphQL (`from`, `to`, `groupBy`, `departmentId`, `doctorId`; for bookings
`statuses`, `dateFrom`, `dateTo`, `scheduleId`, `patientId`, and `reveal=1&reason=…` for full phone
and ID numbers). CSV streams batch by batch; XLSX is written to a spooled temporary file as the
batches come and then streamed (docs/decisions/185).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from gualema.authentication import viewer_from_authorization
from gualema.settings import Settings
from gualema.xlsx import MEDIA_TYPE, Workbook
from models.access_tokens import InvalidToken
from models.booking import BookingStatus
from models.errors import InvalidInput
from models.statistics.kpis import Grouping
from resolvers import exports
from resolvers.booking import BookingFilter
from resolvers.context import Context
from resolvers.statistics import kpi_filter

Rows = AsyncIterator[list[Sequence[exports.Cell]]]
CHUNK = 64 * 1024


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": code}}, status_code=status)


def _date(request: Request, name: str, required: bool = False) -> date | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(name, f"{name} is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(name, f"{name} is a date (YYYY-MM-DD)") from None


def _number(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise InvalidInput(name, f"{name} is an id")
    return int(value)


async def _kpi_rows(request: Request, context: Context) -> Rows:
    grouping_name = request.query_params.get("groupBy", "DAY").upper()
    if grouping_name not in Grouping.__members__:
        raise InvalidInput("groupBy", "groupBy is DAY, WEEK, MONTH, DEPARTMENT or DOCTOR")
    start, end = _date(request, "from", True), _date(request, "to", True)
    if start is None or end is None:
        raise InvalidInput("from", "from and to are required")
    spec = kpi_filter(
        start, end, Grouping[grouping_name], _number(request, "departmentId"), _number(request, "doctorId")
    )
    table = await exports.kpi_table(context, spec)

    async def rows() -> Rows:
        yield table

    return rows()


async def _booking_rows(request: Request, context: Context) -> Rows:
    names = [s.strip().upper() for s in request.query_params.get("statuses", "").split(",") if s.strip()]
    unknown = [n for n in names if n not in BookingStatus.__members__]
    if unknown:
        raise InvalidInput("statuses", f"unknown status: {', '.join(unknown)}")
    criteria = BookingFilter(
        statuses=[BookingStatus[n] for n in names] or None,
        date_from=_date(request, "dateFrom"),
        date_to=_date(request, "dateTo"),
        department_id=_number(request, "departmentId"),
        doctor_id=_number(request, "doctorId"),
        schedule_id=_number(request, "scheduleId"),
        patient_id=_number(request, "patientId"),
    )
    reveal = exports.reveal_of(request.query_params.get("reveal"), request.query_params.get("reason"))
    return exports.booking_rows(context, criteria, reveal)


async def _csv(rows: Rows) -> AsyncIterator[bytes]:
    yield "\ufeff".encode()  # a BOM, so spreadsheet programs read the Chinese headers as UTF-8
    async for batch in rows:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(batch)
        yield buffer.getvalue().encode()


async def _xlsx(rows: Rows, sheet: str) -> AsyncIterator[bytes]:
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        workbook = Workbook(spool, sheet)
        async for batch in rows:
            workbook.write_rows(batch)
        workbook.close()
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


def export_routes(settings: Settings) -> list[BaseRoute]:
    async def export(request: Request) -> Response:
        try:
            viewer = await viewer_from_authorization(request.headers.get("authorization"), settings)
        except InvalidToken:
            return _error(401, "the access token is invalid or expired; refresh it", "UNAUTHENTICATED")
        if not viewer.is_admin:
            return _error(403, "only an administrator may export", "FORBIDDEN")
        table, extension = request.path_params["table"], request.path_params["format"]
        if table not in {"kpis", "bookings"} or extension not in {"csv", "xlsx"}:
            return _error(
                404, "exports are /exports/kpis.csv|xlsx and /exports/bookings.csv|xlsx", "NOT_FOUND"
            )
        context = Context(request=request, response=None, settings=settings, viewer=viewer)
        try:
            rows = await (_kpi_rows if table == "kpis" else _booking_rows)(request, context)
            if table == "bookings":
                rows = await _started(rows)  # the reveal's audit entry and the header, before any byte
        except InvalidInput as exc:
            return _error(400, exc.message, "BAD_USER_INPUT")
        headers: dict[str, Any] = {
            "Content-Disposition": f'attachment; filename="{table}.{extension}"',
            "Cache-Control": "no-store",
        }
        if extension == "csv":
            return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
        return StreamingResponse(_xlsx(rows, table), media_type=MEDIA_TYPE, headers=headers)

    return [Route("/exports/{table}.{format}", export, methods=["GET"])]


async def _started(rows: Rows) -> Rows:
    first = await anext(rows)

    async def chained() -> Rows:
        yield first
        async for batch in rows:
            yield batch

    return chained()
