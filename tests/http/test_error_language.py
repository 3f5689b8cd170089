"""Every expected failure carries a machine-readable `code` (ErrorCode) and a message in the request's
language: Chinese by default, English on `Accept-Language: en` (issue 13.10)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import gualema.graphql_schema  # noqa: F401 - imports every area's failures
from models.error_messages import CATALOGUE, language_of
from models.errors import DomainError
from tests import factories

LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { __typename ... on Error { code message } }
}"""
ADD_PATIENT = """
mutation($input: AddPatientInput!) {
  addPatient(input: $input) { __typename ... on Error { code message } ... on InvalidInputError { field } }
}"""


async def _post(http: httpx.AsyncClient, query: str, variables: dict[str, Any], **headers: str) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_a_failure_is_coded_and_worded_in_chinese_by_default_and_english_on_request(
    http: httpx.AsyncClient,
) -> None:
    user = await factories.patient_user()
    wrong = {"phone": user.account.phone, "password": "nope12345"}

    default = (await _post(http, LOGIN, wrong))["login"]
    english = (await _post(http, LOGIN, wrong, **{"Accept-Language": "en-US,en;q=0.9"}))["login"]
    chinese = (await _post(http, LOGIN, wrong, **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}))["login"]

    assert default == {
        "__typename": "InvalidCredentialsError",
        "code": "INVALID_CREDENTIALS",
        "message": "手机号或密码错误",
    }
    assert english == {**default, "message": "wrong phone number or password"}
    assert chinese == default


async def test_details_are_filled_into_the_chinese_message(http: httpx.AsyncClient) -> None:
    user = await factories.patient_user()
    variables = {
        "input": {"name": "王\u200b小明", "idNumber": "x", "phone": "13700001234", "relation": "PARENT"}
    }

    result = (await _post(http, ADD_PATIENT, variables, Authorization=f"Bearer {user.token}"))["addPatient"]

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "填写的内容不符合要求（name）",
        "field": "name",
    }


def _all_failures(cls: type[DomainError]) -> list[type[DomainError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_failures(sub)]
    return found


def test_every_failure_has_a_code_with_words_in_both_languages() -> None:
    missing = sorted({cls.code for cls in _all_failures(DomainError)} - set(CATALOGUE))
    assert missing == []
    assert all(wording.zh and wording.en for wording in CATALOGUE.values())


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("zh-CN,en;q=0.5", "zh"),
        ("fr,en;q=0.8", "en"),
        ("de", "zh"),
        ("en;q=0.1,zh;q=0.9", "zh"),
        ("en;q=bad", "zh"),
    ],
)
def test_the_language_follows_accept_language(header: str | None, language: str) -> None:
    assert language_of(header) == language
