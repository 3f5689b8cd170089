"""Partner applications: API keys and trusted-document manifests (issue 17). Administrators only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types.info import Info

from models import partners as partner_models
from resolvers import partners as use_cases
from schema.errors import Error, InvalidInputError, InvalidStatusTransition, NotFoundError, maps
from schema.ids import parse_id
from schema.list_bounds import at_most, planned
from schema.permissions import IsAdmin

ManifestStatus = partner_models.ManifestStatus
strawberry.enum(ManifestStatus, name="PartnerManifestStatus")


# Partner keys and manifests are the hospital's own configuration (decision 211).
PLANNED_PARTNER_KEYS = 100
PLANNED_PARTNER_MANIFESTS = 100
PLANNED_DEPARTMENTS = 200  # top-level and sub-departments together


@strawberry.type
class PartnerKey:
    id: strawberry.ID
    application: str
    name: str
    key_hint: str = strawberry.field(description="The key's first characters, to tell keys apart.")
    operations: list[str] = strawberry.field(
        description="Operations the key may run; empty: all of its manifests'.",
        metadata=at_most(use_cases.MAX_MANIFEST_DOCUMENTS),
    )
    department_ids: list[strawberry.ID] = strawberry.field(
        description="Departments it may ask about; empty: all.", metadata=planned(PLANNED_DEPARTMENTS)
    )
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, row: partner_models.PartnerKey) -> PartnerKey:
        return cls(
            id=strawberry.ID(str(row.id)),
            application=row.application,
            name=row.name,
            key_hint=row.key_hint,
            operations=list(row.operations or []),
            department_ids=[strawberry.ID(str(d)) for d in row.department_ids or []],
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type
class PartnerKeyCreated:
    key: str = strawberry.field(description="The API key itself: shown this once, never again.")
    partner_key: PartnerKey


@strawberry.type
class PartnerManifest:
    id: strawberry.ID
    application: str
    version: str
    status: ManifestStatus
    created_at: datetime
    changed_at: datetime

    @strawberry.field
    async def document_count(self, info: Info) -> int:
        return await info.context.loader(use_cases.DocumentCountByManifestLoader).load(int(self.id))

    @classmethod
    def from_model(cls, row: partner_models.PartnerManifest) -> PartnerManifest:
        return cls(
            id=strawberry.ID(str(row.id)),
            application=row.application,
            version=row.version,
            status=ManifestStatus(row.status),
            created_at=row.created_at,
            changed_at=row.changed_at,
        )


@maps(partner_models.ManifestNotValid)
@strawberry.type(name="ManifestNotValid")
class ManifestNotValidError(Error):
    problems: list[str] = strawberry.field(metadata=at_most(use_cases.MAX_MANIFEST_DOCUMENTS))


CreatePartnerKeyResult = Annotated[
    PartnerKeyCreated | InvalidInputError, strawberry.union("CreatePartnerKeyResult")
]
RevokePartnerKeyResult = Annotated[PartnerKey | NotFoundError, strawberry.union("RevokePartnerKeyResult")]
UploadPartnerManifestResult = Annotated[
    PartnerManifest | ManifestNotValidError | InvalidInputError,
    strawberry.union("UploadPartnerManifestResult"),
]
ChangePartnerManifestResult = Annotated[
    PartnerManifest | NotFoundError | InvalidStatusTransition, strawberry.union("ChangePartnerManifestResult")
]


@strawberry.input
class CreatePartnerKeyInput:
    application: str = strawberry.field(description="e.g. student-portal; its manifests bind the key.")
    name: str
    operations: list[str] = strawberry.field(default_factory=list)
    department_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    bucket_capacity: int | None = None
    restore_rate: int | None = None
    daily_quota: int | None = None
    max_concurrent: int | None = None


def _key_request(input: CreatePartnerKeyInput) -> use_cases.KeyRequest:
    return use_cases.KeyRequest(
        application=input.application,
        name=input.name,
        operations=input.operations,
        department_ids=[parse_id(d, "departmentIds") for d in input.department_ids],
        limits={
            "bucket_capacity": input.bucket_capacity,
            "restore_rate": input.restore_rate,
            "daily_quota": input.daily_quota,
            "max_concurrent": input.max_concurrent,
        },
    )


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin], metadata=planned(PLANNED_PARTNER_KEYS))
    async def partner_keys(self, application: str | None = None) -> list[PartnerKey]:
        return [PartnerKey.from_model(row) for row in await use_cases.list_keys(application)]

    @strawberry.field(permission_classes=[IsAdmin], metadata=planned(PLANNED_PARTNER_MANIFESTS))
    async def partner_manifests(self, application: str | None = None) -> list[PartnerManifest]:
        return [PartnerManifest.from_model(row) for row in await use_cases.list_manifests(application)]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="The key is in the answer once only.")
    async def create_partner_key(self, info: Info, input: CreatePartnerKeyInput) -> CreatePartnerKeyResult:
        row, key = await use_cases.create_key(info.context, _key_request(input))
        return PartnerKeyCreated(key=key, partner_key=PartnerKey.from_model(row))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Refused in every process within seconds.")
    async def revoke_partner_key(self, info: Info, id: strawberry.ID) -> RevokePartnerKeyResult:
        return PartnerKey.from_model(await use_cases.revoke_key(info.context, parse_id(id, "id")))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Apollo's persisted-query manifest, or {documentId: body}; checked against the schema.",
    )
    async def upload_partner_manifest(
        self, info: Info, application: str, version: str, manifest: JSON
    ) -> UploadPartnerManifestResult:
        schema = info.schema._schema
        row = await use_cases.upload_manifest(info.context, schema, application, version, manifest)
        return PartnerManifest.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def activate_partner_manifest(self, info: Info, id: strawberry.ID) -> ChangePartnerManifestResult:
        row = await use_cases.move_manifest(info.context, parse_id(id, "id"), ManifestStatus.ACTIVE)
        return PartnerManifest.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def retire_partner_manifest(self, info: Info, id: strawberry.ID) -> ChangePartnerManifestResult:
        row = await use_cases.move_manifest(info.context, parse_id(id, "id"), ManifestStatus.RETIRED)
        return PartnerManifest.from_model(row)
