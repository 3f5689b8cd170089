"""Partner administration: API keys (created, shown once, revoked) and trusted-document manifests
(uploaded, checked against the schema, activated, retired). Administrators only; every change is
audited. This process's copy of the partner directory is updated at once after commit; the other
processes pick the change up at their next refresh (decision 162)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse, validate
from strawberry.dataloader import DataLoader
from tortoise.transactions import in_transaction

from models import audit, partners
from models.errors import InvalidInput, NotFound
from models.partners import (
    DOCUMENT_ID,
    ManifestNotValid,
    ManifestStatus,
    PartnerKey,
    PartnerManifest,
    document_id_of,
)
from resolvers.context import Context

MAX_MANIFEST_DOCUMENTS = 500


@dataclass(frozen=True)
class KeyRequest:
    application: str
    name: str
    operations: list[str]
    department_ids: list[int]
    limits: dict[str, int | None]


async def create_key(context: Context, request: KeyRequest) -> tuple[PartnerKey, str]:
    for name, value in request.limits.items():
        if value is not None and value < 1:
            raise InvalidInput(name, "限额须为正整数 (must be a positive integer)")
    async with in_transaction():
        row, key = await partners.create_key(
            request.application,
            request.name,
            request.operations,
            request.department_ids,
            context.viewer.account_id,
            {name: value for name, value in request.limits.items() if value is not None},
        )
        await audit.record(
            context.viewer.account_id,
            "partner_key.create",
            "PartnerKey",
            row.id,
            after={"application": row.application, "name": row.name, "hint": row.key_hint},
        )
    return row, key


async def revoke_key(context: Context, key_id: int) -> PartnerKey:
    async with in_transaction():
        row = await PartnerKey.get_or_none(id=key_id)
        if row is None:
            raise NotFound("API 密钥不存在 (no such key)")
        already = row.revoked_at is not None
        await partners.revoke_key(row)
        if not already:
            await audit.record(context.viewer.account_id, "partner_key.revoke", "PartnerKey", row.id)
    partners.DIRECTORY.forget_key(row.key_hash)
    return row


def manifest_documents(manifest: Any) -> dict[str, str]:
    """Apollo's persisted-query manifest (`{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id", "name", "type", "body"}]}`) or a plain `{"sha256:<hex>" | "<hex>": body}`
    map (GraphQL Code Generator's persisted documents) -> {document id: body}."""
    if isinstance(manifest, dict) and isinstance(manifest.get("operations"), list):
        if manifest.get("format") not in (None, "apollo-persisted-query-manifest"):
            raise ManifestNotValid([f"unknown manifest format {manifest.get('format')!r}"])
        pairs = [
            (str(op.get("id", "")), op.get("body")) if isinstance(op, dict) else ("", None)
            for op in manifest["operations"]
        ]
    elif isinstance(manifest, dict):
        pairs = [(str(key), value) for key, value in manifest.items()]
    else:
        raise ManifestNotValid(["清单须为 JSON 对象 (the manifest must be a JSON object)"])
    documents: dict[str, str] = {}
    problems: list[str] = []
    for given_id, body in pairs:
        document_id = given_id if given_id.startswith("sha256:") else f"sha256:{given_id}"
        if not isinstance(body, str) or not body.strip():
            problems.append(f"{given_id}: body 为空 (no body)")
        elif not DOCUMENT_ID.fullmatch(document_id) or document_id != document_id_of(body):
            problems.append(f"{given_id}: id 不是 body 的 sha256 (the id is not the body's sha256)")
        else:
            documents[document_id] = body
    if problems:
        raise ManifestNotValid(problems)
    if not documents or len(documents) > MAX_MANIFEST_DOCUMENTS:
        raise ManifestNotValid(
            [f"清单须含 1-{MAX_MANIFEST_DOCUMENTS} 个文档 (1-{MAX_MANIFEST_DOCUMENTS} documents)"]
        )
    return documents


def checked_against(schema: GraphQLSchema, documents: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each document parses, validates and holds exactly one operation -> (operation name, body)."""
    checked: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for document_id, body in documents.items():
        try:
            document = parse(body, max_tokens=20_000)
        except GraphQLError as exc:
            problems.append(f"{document_id}: {exc.message}")
            continue
        errors = validate(schema, document)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if errors:
            problems.append(f"{document_id}: {errors[0].message}")
        elif len(operations) != 1:
            problems.append(f"{document_id}: 须只含一个操作 (exactly one operation)")
        else:
            name = operations[0].name
            checked[document_id] = (name.value if name else "", body)
    if problems:
        raise ManifestNotValid(problems)
    return checked


async def upload_manifest(
    context: Context, schema: GraphQLSchema, application: str, version: str, manifest: Any
) -> PartnerManifest:
    documents = checked_against(schema, manifest_documents(manifest))
    async with in_transaction():
        row = await partners.create_manifest(application, version.strip(), documents)
        await audit.record(
            context.viewer.account_id,
            "partner_manifest.upload",
            "PartnerManifest",
            row.id,
            after={"application": application, "version": row.version, "documents": len(documents)},
        )
    return row


async def move_manifest(context: Context, manifest_id: int, to: ManifestStatus) -> PartnerManifest:
    async with in_transaction():
        row = await PartnerManifest.get_or_none(id=manifest_id)
        if row is None:
            raise NotFound("清单不存在 (no such manifest)")
        before = row.status
        await partners.change_manifest_status(row, to)
        await audit.record(
            context.viewer.account_id,
            f"partner_manifest.{to.value}",
            "PartnerManifest",
            row.id,
            before={"status": str(before)},
            after={"status": to.value},
        )
    partners.DIRECTORY.expire()  # this process reloads the active documents on its next request
    return row


async def list_keys(application: str | None) -> list[PartnerKey]:
    query = PartnerKey.all().order_by("id")
    return await (query.filter(application=application) if application else query)


async def list_manifests(application: str | None) -> list[PartnerManifest]:
    query = PartnerManifest.all().order_by("id")
    return await (query.filter(application=application) if application else query)


async def document_counts(manifest_ids: list[int]) -> list[int]:
    rows = await partners.PartnerDocument.filter(manifest_id__in=manifest_ids).values_list(
        "manifest_id", flat=True
    )
    counts: dict[int, int] = {}
    for manifest_id in rows:
        counts[int(manifest_id)] = counts.get(int(manifest_id), 0) + 1  # type: ignore[call-overload]
    return [counts.get(i, 0) for i in manifest_ids]


class DocumentCountByManifestLoader(DataLoader[int, int]):
    def __init__(self) -> None:
        super().__init__(load_fn=document_counts)
