"""Exports: the KPI table and booking records as CSV and XLSX, masked unless revealed with a reason."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

from gualema.settings import Settings
from models.accounts import Patient
from models.audit import AuditEntry
from models.clock import utcnow
from models.scheduling import Slot
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.statistics.scenario import Person, people, place


async def booked_clinic(count: int) -> tuple[int, list[Person]]:
    doctor, _ = await factories.doctor()
    schedule = await factories.session(capacity=count, doctor_row=doctor, starts_in=timedelta(days=1))
    slot = await Slot.get(schedule_id=schedule.id)
    patients = await people(count)
    for person in patients:
        await place(person, slot, utcnow())
    return doctor.id, patients


def sheet_rows(content: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as workbook:
        assert "[Content_Types].xml" in workbook.namelist()
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    return [re.findall(r"<(?:t[^>]*|v)>([^<]*)</", row) for row in re.findall(r"<row>(.*?)</row>", sheet)]


async def test_the_kpi_table_exports_as_csv_with_its_previous_period(
    gql: GraphQLClient, settings: Settings
) -> None:
    doctor_id, _ = await booked_clinic(2)
    admin = await factories.admin_user()
    today = utcnow().astimezone(settings.tz).date()

    response = await gql.http.get(
        "/exports/kpis.csv",
        params={
            "from": today.isoformat(),
            "to": today.isoformat(),
            "groupBy": "day",
            "doctorId": str(doctor_id),
        },
        headers={"Authorization": f"Bearer {admin.token}"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[:5] == ["时段 period", "开始 start", "结束 end", "挂号量 registrations", "上期 previous"]
    assert row[:5] == [today.isoformat(), today.isoformat(), today.isoformat(), "2", "0"]
    # The new figures follow, each cell under its heading (empty where nothing was measured).
    assert len(row) == len(header)
    cells = dict(zip(header, row, strict=True))
    assert cells["预约诊疗率 booked_in_advance_rate"] == ""  # nothing completed yet
    assert cells["候诊人次 waits"] == "0"
    assert cells["候补人数 waiters"] == "0"


async def test_booking_records_export_as_xlsx_masked_and_revealed_only_with_an_audited_reason(
    gql: GraphQLClient,
) -> None:
    doctor_id, patients = await booked_clinic(3)
    admin = await factories.admin_user()
    auth = {"Authorization": f"Bearer {admin.token}"}
    phones = set(
        await Patient.filter(id__in=[p.patient_id for p in patients]).values_list("phone", flat=True)
    )

    masked = await gql.http.get("/exports/bookings.xlsx", params={"doctorId": str(doctor_id)}, headers=auth)
    unexplained = await gql.http.get(
        "/exports/bookings.csv", params={"doctorId": str(doctor_id), "reveal": "1"}, headers=auth
    )
    revealed = await gql.http.get(
        "/exports/bookings.csv",
        params={"doctorId": str(doctor_id), "reveal": "1", "reason": "医保对账"},
        headers=auth,
    )

    header, *rows = sheet_rows(masked.content)
    assert header[0] == "预约号 booking_id"
    assert len(rows) == 3
    assert all("****" in row[8] for row in rows)
    assert unexplained.status_code == 400
    revealed_rows = list(csv.reader(io.StringIO(revealed.content.decode("utf-8-sig"))))[1:]
    assert {row[8] for row in revealed_rows} == phones
    entry = await AuditEntry.filter(action="bookings.export_revealed").order_by("-id").first()
    assert entry is not None
    assert (entry.actor_id, entry.reason) == (admin.account.id, "医保对账")


async def test_exports_are_for_administrators(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    refused = await gql.http.get(
        "/exports/bookings.csv", headers={"Authorization": f"Bearer {patient.token}"}
    )
    anonymous = await gql.http.get("/exports/kpis.csv")
    assert (refused.status_code, anonymous.status_code) == (403, 403)
