"""Partner scenarios: an administrator registers an application's documents and hands out a key."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.http.conftest import client_with, server_with  # noqa: F401 - shared fixtures

UPLOAD = """
mutation($application: String!, $version: String!, $manifest: JSON!) {
  uploadPartnerManifest(application: $application, version: $version, manifest: $manifest) {
    __typename
    ... on PartnerManifest { id status documentCount }
    ... on ManifestNotValid { message problems }
    ... on Error { message }
  }
}"""
ACTIVATE = """
mutation($id: ID!) {
  activatePartnerManifest(id: $id) { __typename ... on PartnerManifest { status } ... on Error { message } }
}"""
RETIRE = """
mutation($id: ID!) {
  retirePartnerManifest(id: $id) { __typename ... on PartnerManifest { status } ... on Error { message } }
}"""
CREATE_KEY = """
mutation($input: CreatePartnerKeyInput!) {
  createPartnerKey(input: $input) {
    __typename
    ... on PartnerKeyCreated { key partnerKey { id keyHint application } }
    ... on Error { message }
  }
}"""
REVOKE_KEY = """
mutation($id: ID!) { revokePartnerKey(id: $id) { __typename ... on PartnerKey { revokedAt } } }"""

DEPARTMENTS = "query Departments { departments { id name } }"
REGISTRATION_TYPES = "query RegistrationTypes { registrationTypes { id name fee } }"
DOCTORS = "query Doctors($departmentId: ID) { doctors(departmentId: $departmentId) { id name } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def document_id(text: str) -> str:
    return "sha256:" + sha256(text)


def apollo_manifest(*bodies: str) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256(body), "name": body.split()[1].split("(")[0], "type": "query", "body": body}
            for body in bodies
        ],
    }


def apq(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


@dataclass
class Partner:
    application: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.key}


class PartnerDesk:
    """What an administrator does for a partner, through the GraphQL API."""

    def __init__(self, gql: GraphQLClient, admin_token: str) -> None:
        self.gql = gql.as_(admin_token)

    async def manifest(self, application: str, *bodies: str, activate: bool = True) -> str:
        version = secrets.token_hex(4)
        uploaded = (
            await self.gql.data(
                UPLOAD, {"application": application, "version": version, "manifest": apollo_manifest(*bodies)}
            )
        )["uploadPartnerManifest"]
        assert uploaded["__typename"] == "PartnerManifest", uploaded
        if activate:
            moved = await self.gql.data(ACTIVATE, {"id": uploaded["id"]})
            assert moved["activatePartnerManifest"]["status"] == "ACTIVE"
        return str(uploaded["id"])

    async def key(self, application: str, **limits: Any) -> Partner:
        created = (
            await self.gql.data(CREATE_KEY, {"input": {"application": application, "name": "接口", **limits}})
        )["createPartnerKey"]
        assert created["__typename"] == "PartnerKeyCreated", created
        return Partner(application, created["key"], created["partnerKey"]["id"])

    async def revoke(self, partner: Partner) -> None:
        await self.gql.data(REVOKE_KEY, {"id": partner.key_id})


@pytest.fixture
async def desk(gql: GraphQLClient) -> PartnerDesk:
    admin = await factories.admin_user()
    return PartnerDesk(gql, admin.token)


def new_application() -> str:
    return f"app-{secrets.token_hex(4)}"


def get_params(**values: Any) -> dict[str, str]:
    return {
        name: json.dumps(value) if isinstance(value, dict) else str(value) for name, value in values.items()
    }
