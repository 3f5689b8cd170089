from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys

from models.accounts import Patient
from models.personal_data import Keyring, keyring, rotate_keys
from tests import factories
from tests.fixtures.api import REPOSITORY

SECRET = os.environ["GUALEMA_SECRET_KEY"]
NEW_KEY = "k1:" + base64.b64encode(b"1" * 32).decode()
NEWER_KEY = "k2:" + base64.b64encode(b"2" * 32).decode()


def _reveal(ring: Keyring, row: Patient) -> str:
    return ring.decrypt(row.id_number_cipher, context=f"patient-id:{row.id_number_hash}")


async def _three_patients() -> dict[int, str]:
    owner = await factories.patient_user()
    numbers = [factories.resident_id(birth=f"19{year}0505") for year in (70, 80, 90)]
    return {(await factories.patient(owner, id_number=n, relation="other")).id: n for n in numbers}


async def test_rotation_re_encrypts_every_row_with_the_current_key_once() -> None:
    numbers = await _three_patients()
    assert {keyring().key_id(row.id_number_cipher) for row in await Patient.all()} == {"k0"}
    rotated_ring = Keyring.from_settings(NEW_KEY, SECRET)

    first = await rotate_keys(rotated_ring, batch_size=2)
    second = await rotate_keys(rotated_ring, batch_size=2)

    assert (first.rotated, first.unreadable, second.rotated) == (3, 0, 0)
    rows = await Patient.all()
    assert {rotated_ring.key_id(row.id_number_cipher) for row in rows} == {"k1"}
    assert {row.id: _reveal(rotated_ring, row) for row in rows} == numbers


async def test_while_rotating_both_keys_read_and_only_the_first_one_writes() -> None:
    await _three_patients()
    row = await Patient.first()
    assert row is not None
    appended = Keyring.from_settings(f"{NEW_KEY},{NEWER_KEY}", SECRET)  # step 1: k2 may decrypt only
    promoted = Keyring.from_settings(f"{NEWER_KEY},{NEW_KEY}", SECRET)  # step 2: k2 encrypts

    assert appended.current == "k1"
    assert promoted.current == "k2"
    made_by_k1 = appended.encrypt("x", "c")
    assert promoted.decrypt(made_by_k1, "c") == "x"
    assert appended.decrypt(promoted.encrypt("y", "c"), "c") == "y"
    # Rows sealed before any key was configured stay readable after real keys arrive.
    assert _reveal(promoted, row) == _reveal(keyring(), row)


async def test_a_row_under_an_unknown_key_is_reported_and_left_alone() -> None:
    await _three_patients()
    orphan = await Patient.first()
    assert orphan is not None
    orphan.id_number_cipher = "gone:" + orphan.id_number_cipher.partition(":")[2]
    await orphan.save(update_fields=["id_number_cipher"])

    report = await rotate_keys(Keyring.from_settings(NEW_KEY, SECRET))

    assert (report.rotated, report.unreadable) == (2, 1)
    assert (await Patient.get(id=orphan.id)).id_number_cipher.startswith("gone:")


async def test_the_rotate_keys_command_rotates_the_database_in_place() -> None:
    numbers = await _three_patients()
    env = {**os.environ, "GUALEMA_ENCRYPTION_KEYS": f"{NEWER_KEY},{NEW_KEY}"}

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gualema", "rotate-keys"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "patient.id_number_cipher: 3 row(s) re-encrypted" in done.stderr
    ring = Keyring.from_settings(f"{NEWER_KEY},{NEW_KEY}", SECRET)
    rows = await Patient.all()
    assert {ring.key_id(row.id_number_cipher) for row in rows} == {"k2"}
    assert {row.id: _reveal(ring, row) for row in rows} == numbers
    assert all(number not in done.stderr + done.stdout for number in numbers.values())
