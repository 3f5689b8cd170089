"""Async factories with overrides: each makes a valid row and lets a test say only what matters."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gualema.settings import get_settings
from models.access_tokens import issue_access_token
from models.accounts import Account, IdKind, Patient, Relation, Role
from models.catalogue import Department, Doctor, RegistrationType, Room
from models.identity import mask_id_number
from models.passwords import hash_password
from models.personal_data import keyring

_sequence = itertools.count(1)
PASSWORD = "secret123"
_PASSWORD_HASH: str | None = None


def unique_phone() -> str:
    return f"139{next(_sequence) % 10**8:08d}"


def resident_id(birth: str = "19900307", region: str = "110105") -> str:
    body = f"{region}{birth}{random.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


def token_for(account: Account, minutes: int = 15) -> str:
    token, _ = issue_access_token(
        get_settings().secret_key.get_secret_value(),
        subject=account.id,
        role=account.role.value,
        lifetime=timedelta(minutes=minutes),
    )
    return token


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


@dataclass
class Actor:
    account: Account
    token: str

    @property
    def id(self) -> int:
        return int(self.account.id)


async def account(role: Role = Role.PATIENT, **overrides: Any) -> Actor:
    values: dict[str, Any] = {
        "phone": unique_phone(),
        "password_hash": _password_hash(),
        "name": "张三",
        "role": role,
    }
    values.update(overrides)
    row = await Account.create(**values)
    return Actor(row, token_for(row))


async def patient_user(**overrides: Any) -> Actor:
    return await account(Role.PATIENT, **overrides)


async def admin_user(**overrides: Any) -> Actor:
    return await account(Role.ADMIN, name="管理员", **overrides)


async def patient(owner: Actor | Account, **overrides: Any) -> Patient:
    holder = owner.account if isinstance(owner, Actor) else owner
    number = overrides.pop("id_number", None) or resident_id()
    ring = keyring()
    lookup = ring.lookup_hash(f"{IdKind.RESIDENT_ID.value}:{number}")
    values: dict[str, Any] = {
        "account": holder,
        "name": holder.name,
        "relation": Relation.SELF,
        "id_kind": IdKind.RESIDENT_ID,
        "id_number_cipher": ring.encrypt(number, context=f"patient-id:{lookup}"),
        "id_number_hash": lookup,
        "id_number_masked": mask_id_number(number),
        "phone": holder.phone,
    }
    values.update(overrides)
    return await Patient.create(**values)


async def department(**overrides: Any) -> Department:
    n = next(_sequence)
    values: dict[str, Any] = {"name": f"内科{n}", "code": f"D{n}", "building": "门诊楼", "floor": "2F"}
    values.update(overrides)
    return await Department.create(**values)


async def room(dept: Department | None = None, **overrides: Any) -> Room:
    values: dict[str, Any] = {"name": f"诊室{next(_sequence)}", "department": dept or await department()}
    values.update(overrides)
    return await Room.create(**values)


async def registration_type(**overrides: Any) -> RegistrationType:
    values: dict[str, Any] = {"name": f"普通号{next(_sequence)}", "fee": 1000}
    values.update(overrides)
    return await RegistrationType.create(**values)


async def doctor(dept: Department | None = None, **overrides: Any) -> tuple[Doctor, Actor]:
    dept = dept or await department()
    login = await account(Role.DOCTOR, name=overrides.get("name", "李医生"))
    values: dict[str, Any] = {
        "account": login.account,
        "name": "李医生",
        "title": "主治医师",
        "department": dept,
        "room": overrides.pop("room", None) or await room(dept),
    }
    values.update(overrides)
    return await Doctor.create(**values), login
