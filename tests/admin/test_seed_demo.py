from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from gualema.demo_hospital import DEMO_LOGINS, seed_demo
from models.accounts import Account, Patient, reveal_id_number
from models.catalogue import Department, Doctor, RegistrationType, Room
from models.identity import resident_id_problem
from tests.fixtures.api import REPOSITORY, GraphQLClient

LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) {
    __typename
    ... on AuthPayload { accessToken account { role } }
  }
}"""


async def _counts() -> tuple[int, ...]:
    return tuple(
        [
            await model.all().count()
            for model in (Account, Patient, Department, Room, RegistrationType, Doctor)
        ]
    )


async def test_the_demo_hospital_is_believable_and_seeding_twice_changes_nothing(gql: GraphQLClient) -> None:
    await seed_demo()
    once = await _counts()
    await seed_demo()

    assert await _counts() == once
    tree = (await gql.data("{ departments { name building children { name } doctors { name } } }"))[
        "departments"
    ]
    assert len(tree) >= 6
    assert sum(1 for d in tree if d["children"]) >= 2
    assert {d["building"] for d in tree} == {"门诊楼", "综合楼"}
    assert len((await gql.data("{ doctors { title room { name } } }"))["doctors"]) >= 12
    fees = {
        t["name"]: t["fee"]
        for t in (await gql.data("{ registrationTypes { name fee } }"))["registrationTypes"]
    }
    assert fees["普通号"] == 500
    assert fees["专家号"] == 2000
    for patient in await Patient.all():
        assert resident_id_problem(reveal_id_number(patient)) is None


async def test_every_demo_login_works_with_its_role(gql: GraphQLClient) -> None:
    await seed_demo()

    for login in DEMO_LOGINS:
        result = (await gql.data(LOGIN, {"phone": login.phone, "password": login.password}))["login"]
        assert result["account"]["role"] == login.role.upper(), login
        if login.role == "patient":
            mine = await gql.as_(result["accessToken"]).data("{ myPatients { name idNumber } }")
            assert mine["myPatients"]
            assert all("*" in p["idNumber"] for p in mine["myPatients"])


async def test_the_seed_demo_command_prints_the_logins() -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gualema", "seed-demo"],
        cwd=REPOSITORY,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    for login in DEMO_LOGINS:
        assert f"{login.phone} / {login.password}" in done.stdout
    assert await Doctor.all().count() >= 12


async def test_production_refuses_the_demo_and_its_public_passwords() -> None:
    env = {**os.environ, "GUALEMA_ENV": "production"}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gualema", "seed-demo"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2
    assert "refused with GUALEMA_ENV=production" in done.stderr
    assert await Account.all().count() == 0
