"""scripts/backup and scripts/restore on PostgreSQL: a database filled through the API, dumped, restored
into a fresh database, has the same rows in every table and the same bookings and payments."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import asyncpg
import pytest

from tests import factories
from tests.conftest import BASE_DATABASE_URL, DATABASE_URL, RUN_ID
from tests.fixtures.api import REPOSITORY, GraphQLClient
from tests.payments.operations import pay_booking

pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres", "asyncpg")), reason="backups are scripted for PostgreSQL"
)

REGISTER = """
mutation($phone: String!) {
  register(input: {phone: $phone, password: "abc12345", name: "王小明"}) {
    ... on AuthPayload { accessToken }
  }
}"""
ADD_PATIENT = """
mutation($id: String!) {
  addPatient(input: {name: "刘芳", idNumber: $id, phone: "13700000011", relation: PARENT}) { __typename }
}"""
CHECKSUMMED = ("booking", "booking_event", "payment_order", "payment_event", "payment_refund")


def _url(url: str) -> str:
    return url.replace("asyncpg://", "postgres://")


async def _snapshot(url: str) -> tuple[dict[str, int], dict[str, str]]:
    conn = await asyncpg.connect(_url(url))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        counts = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
        sums = {
            t: await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM \"{t}\" t"
            )
            for t in CHECKSUMMED
        }
    finally:
        await conn.close()
    return counts, sums


def _run(*command: str, backups: Path) -> str:
    environment = {**os.environ, "GUALEMA_BACKUP_DIR": str(backups)}
    done = subprocess.run(
        command, cwd=REPOSITORY, env=environment, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_dump_restored_into_a_fresh_database_has_every_row(
    gql: GraphQLClient, tmp_path: Path
) -> None:
    for n in range(3):
        token = (await gql.data(REGISTER, {"phone": f"1360000000{n}"}))["register"]["accessToken"]
        await gql.as_(token).data(ADD_PATIENT, {"id": factories.resident_id(birth=f"1970010{n + 1}")})
    for _ in range(2):
        held = await factories.held_booking(fee=1500)
        assert (await pay_booking(gql, held))["__typename"] == "SandboxPayment"

    dump = (await asyncio.to_thread(_run, "scripts/backup", _url(DATABASE_URL), backups=tmp_path)).strip()
    fresh = f"gualema_{RUN_ID}_restored"
    admin = await asyncpg.connect(_url(BASE_DATABASE_URL))
    await admin.execute(f'CREATE DATABASE "{fresh}"')
    restored_url = f"{_url(DATABASE_URL).rsplit('/', 1)[0]}/{fresh}"
    try:
        await asyncio.to_thread(_run, "scripts/restore", dump, restored_url, backups=tmp_path)
        original, restored = await _snapshot(DATABASE_URL), await _snapshot(restored_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        await admin.close()

    assert original == restored
    counts, _ = original
    assert (counts["account"], counts["patient"], counts["payment_order"]) == (
        7,
        5,
        2,
    )  # and each held booking's doctor


async def test_restore_refuses_a_database_that_has_tables(tmp_path: Path) -> None:
    empty_dump = tmp_path / "nothing.dump"
    empty_dump.write_bytes(b"")
    done = await asyncio.to_thread(
        subprocess.run,
        ["scripts/restore", str(empty_dump), _url(DATABASE_URL)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "restore into an empty one" in done.stderr
