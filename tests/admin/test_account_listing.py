from __future__ import annotations

from typing import Any

from tests import factories
from tests.fixtures.api import GraphQLClient

ACCOUNTS = """
query($first: Int, $after: String, $role: Role, $phone: String, $disabled: Boolean) {
  accounts(first: $first, after: $after, role: $role, phone: $phone, disabled: $disabled) {
    edges { cursor node { name phone role disabled } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def _page(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    return dict((await gql.as_(token).data(ACCOUNTS, variables))["accounts"])


async def test_an_admin_pages_through_accounts_newest_first(gql: GraphQLClient) -> None:
    admin = await factories.admin_user(name="管理员")
    for n in range(5):
        await factories.patient_user(name=f"病人{n}")

    first = await _page(gql, admin.token, first=2)
    second = await _page(gql, admin.token, first=2, after=first["pageInfo"]["endCursor"])
    last = await _page(gql, admin.token, first=2, after=second["pageInfo"]["endCursor"])

    assert [e["node"]["name"] for e in first["edges"]] == ["病人4", "病人3"]
    assert [e["node"]["name"] for e in second["edges"]] == ["病人2", "病人1"]
    assert [e["node"]["name"] for e in last["edges"]] == ["病人0", "管理员"]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": first["edges"][0]["cursor"],
        "endCursor": first["edges"][1]["cursor"],
    }
    assert (last["pageInfo"]["hasNextPage"], last["pageInfo"]["hasPreviousPage"]) == (False, True)
    assert all(e["node"]["phone"].count("*") == 4 for e in first["edges"])
    assert not any(e["cursor"].isdigit() for e in first["edges"])  # opaque, not raw ids


async def test_filters_by_role_exact_phone_and_disabled(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    wanted = await factories.patient_user(name="王小明", phone="13712345678")
    await factories.patient_user(name="王小红", phone="13712345679")
    await factories.doctor()
    await factories.patient_user(name="停用的", disabled=True)

    by_phone = await _page(gql, admin.token, phone="137 1234 5678")
    doctors = await _page(gql, admin.token, role="DOCTOR")
    disabled = await _page(gql, admin.token, disabled=True)
    patients_enabled = await _page(gql, admin.token, role="PATIENT", disabled=False)

    assert [e["node"]["name"] for e in by_phone["edges"]] == [wanted.account.name]
    assert [e["node"]["role"] for e in doctors["edges"]] == ["DOCTOR"]
    assert [e["node"]["name"] for e in disabled["edges"]] == ["停用的"]
    assert [e["node"]["name"] for e in patients_enabled["edges"]] == ["王小红", "王小明"]


async def test_a_foreign_cursor_or_a_huge_page_is_a_clear_error(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()

    forged = await gql.as_(admin.token)(ACCOUNTS, {"after": "MTIz"})
    huge = await gql.as_(admin.token)(ACCOUNTS, {"first": 1000})

    assert forged["errors"][0]["message"] == "输入有误：this cursor does not come from this list"
    assert forged["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    assert huge["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


async def test_only_admins_list_accounts(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    body = await gql.as_(patient.token)(ACCOUNTS, {})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_admin_sees_an_accounts_patients_but_another_patient_cannot(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    holder = await factories.patient_user(phone="13712340000")
    await factories.patient(holder, name="王小明")

    seen = await gql.as_(admin.token).data(
        '{ accounts(phone: "13712340000") { edges { node { patients { name idNumber } } } } }'
    )

    patients = seen["accounts"]["edges"][0]["node"]["patients"]
    assert [p["name"] for p in patients] == ["王小明"]
    assert "*" in patients[0]["idNumber"]
