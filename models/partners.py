"""Partner applications: API keys (stored hashed) and their trusted-document manifests.

A key belongs to one partner application (the student portal, the school app, …) and may run only
the documents of that application's active manifests (docs/decisions/160, 161). Each process keeps a
copy of the live keys and the active documents and reloads it every few seconds, as the access-token
revocation list does (decision 101): a revoked key or a retired manifest is refused at once in the
process that changed it and within the refresh interval in every other process.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.clock import utcnow
from models.errors import DomainError, InvalidInput, InvalidTransition
from models.reloaded_copy import ReloadSchedule

KEY_PREFIX = "glk_"
DOCUMENT_ID = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
APPLICATION = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}", re.ASCII)


class ManifestStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    RETIRED = "retired"


MANIFEST_TRANSITIONS: dict[ManifestStatus, frozenset[ManifestStatus]] = {
    ManifestStatus.PENDING: frozenset({ManifestStatus.ACTIVE, ManifestStatus.RETIRED}),
    ManifestStatus.ACTIVE: frozenset({ManifestStatus.RETIRED}),
    ManifestStatus.RETIRED: frozenset(),
}


class PartnerKey(Model):
    id = fields.IntField(primary_key=True)
    application = fields.CharField(max_length=64, db_index=True)
    name = fields.CharField(max_length=100)
    key_hash = fields.CharField(max_length=64, unique=True)  # sha256 hex of the whole key
    key_hint = fields.CharField(max_length=12)  # the key's first characters, to tell keys apart
    # Empty lists mean "no restriction" (every operation of the active manifests, every department).
    operations: fields.JSONField[list[str]] = fields.JSONField(default=list)
    department_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    bucket_capacity = fields.IntField(null=True)  # None: the settings' default
    restore_rate = fields.IntField(null=True)
    daily_quota = fields.IntField(null=True)
    max_concurrent = fields.IntField(null=True)
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "partner_key"


class PartnerManifest(Model):
    id = fields.IntField(primary_key=True)
    application = fields.CharField(max_length=64)
    version = fields.CharField(max_length=64)
    status = fields.CharEnumField(ManifestStatus, max_length=16, default=ManifestStatus.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)
    changed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partner_manifest"
        unique_together = (("application", "version"),)


class PartnerDocument(Model):
    id = fields.BigIntField(primary_key=True)
    manifest: fields.ForeignKeyRelation[PartnerManifest] = fields.ForeignKeyField(
        "models.PartnerManifest", related_name="documents", on_delete=fields.CASCADE
    )
    document_id = fields.CharField(max_length=71, db_index=True)  # sha256:<64 hex>
    operation_name = fields.CharField(max_length=128, default="")
    body = fields.TextField()

    class Meta:
        table = "partner_document"
        unique_together = (("manifest", "document_id"),)


class ManifestNotValid(DomainError):
    default_message = "清单无效 (the manifest is not valid)"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"清单无效 (the manifest is not valid): {'; '.join(problems[:10])}", problems=problems
        )


@dataclass(frozen=True)
class PartnerGrant:
    """What a request made with a partner key may do; also the rate-limit subject."""

    key_id: int
    application: str
    operations: frozenset[str]
    department_ids: frozenset[int]
    bucket_capacity: int | None = None
    restore_rate: int | None = None
    daily_quota: int | None = None
    max_concurrent: int | None = None

    def allows_operation(self, name: str | None) -> bool:
        return not self.operations or (name or "") in self.operations


@dataclass(frozen=True)
class TrustedDocument:
    document_id: str
    operation_name: str
    body: str
    applications: frozenset[str]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def document_id_of(body: str) -> str:
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def grant_of(row: PartnerKey) -> PartnerGrant:
    return PartnerGrant(
        key_id=row.id,
        application=row.application,
        operations=frozenset(str(name) for name in row.operations or ()),
        department_ids=frozenset(int(d) for d in row.department_ids or ()),
        bucket_capacity=row.bucket_capacity,
        restore_rate=row.restore_rate,
        daily_quota=row.daily_quota,
        max_concurrent=row.max_concurrent,
    )


# -- the one writer of keys and manifests


async def create_key(
    application: str,
    name: str,
    operations: list[str],
    department_ids: list[int],
    created_by_id: int | None,
    limits: dict[str, Any] | None = None,
) -> tuple[PartnerKey, str]:
    """The row and the key itself, which is shown once and never stored."""
    if not APPLICATION.fullmatch(application):
        raise InvalidInput("application", "应用名只能含小写字母、数字、'.'、'_'、'-' (a-z, 0-9, . _ -)")
    if not name.strip():
        raise InvalidInput("name", "名称不能为空 (the name is empty)")
    key = new_key()
    row = await PartnerKey.create(
        application=application,
        name=name.strip()[:100],
        key_hash=hash_key(key),
        key_hint=key[:12],
        operations=sorted(set(operations)),
        department_ids=sorted(set(department_ids)),
        created_by_id=created_by_id,
        **(limits or {}),
    )
    return row, key


async def revoke_key(row: PartnerKey) -> PartnerKey:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await PartnerKey.filter(id=row.id, revoked_at__isnull=True).update(revoked_at=row.revoked_at)
    return row


async def create_manifest(
    application: str, version: str, documents: dict[str, tuple[str, str]]
) -> PartnerManifest:
    """`documents`: document id -> (operation name, body), already checked against the schema."""
    if not APPLICATION.fullmatch(application):
        raise InvalidInput("application", "应用名只能含小写字母、数字、'.'、'_'、'-' (a-z, 0-9, . _ -)")
    if not version.strip() or len(version) > 64:
        raise InvalidInput("version", "版本号为 1-64 个字符 (1-64 characters)")
    if await PartnerManifest.filter(application=application, version=version).exists():
        raise InvalidInput("version", f"该应用已有版本 {version} (this version exists)")
    manifest = await PartnerManifest.create(application=application, version=version)
    await PartnerDocument.bulk_create(
        [
            PartnerDocument(manifest=manifest, document_id=doc_id, operation_name=name, body=body)
            for doc_id, (name, body) in documents.items()
        ]
    )
    return manifest


async def change_manifest_status(manifest: PartnerManifest, to: ManifestStatus) -> PartnerManifest:
    """The one function that moves a manifest; a concurrent change makes the row count 0."""
    current = ManifestStatus(manifest.status)
    if to not in MANIFEST_TRANSITIONS[current]:
        raise InvalidTransition("PartnerManifest", current.value, to.value)
    now = utcnow()
    changed = await PartnerManifest.filter(id=manifest.id, status=current).update(status=to, changed_at=now)
    if changed != 1:
        await manifest.refresh_from_db()
        return await change_manifest_status(manifest, to)
    manifest.status = to
    manifest.changed_at = now
    return manifest


# -- this process's copy


@dataclass
class PartnerDirectory:
    keys: dict[str, PartnerGrant] = field(default_factory=dict)  # key hash -> grant
    documents: dict[str, TrustedDocument] = field(default_factory=dict)  # active, by document id
    schedule: ReloadSchedule = field(default_factory=ReloadSchedule)

    def forget_key(self, key_hash: str) -> None:
        self.keys.pop(key_hash, None)

    def expire(self) -> None:
        self.schedule.expire()


DIRECTORY = PartnerDirectory()


async def refresh_if_stale(every_seconds: float) -> None:
    async def reload() -> None:
        keys = await PartnerKey.filter(revoked_at__isnull=True)
        rows = await PartnerDocument.filter(manifest__status=ManifestStatus.ACTIVE).prefetch_related(
            "manifest"
        )
        documents: dict[str, TrustedDocument] = {}
        for row in rows:
            known = documents.get(row.document_id)
            apps = frozenset({row.manifest.application}) | (known.applications if known else frozenset())
            documents[row.document_id] = TrustedDocument(row.document_id, row.operation_name, row.body, apps)
        DIRECTORY.keys = {key.key_hash: grant_of(key) for key in keys}
        DIRECTORY.documents = documents

    await DIRECTORY.schedule.reload_if_stale(every_seconds, reload)


async def grant_for(key: str, every_seconds: float) -> PartnerGrant | None:
    """The grant of a live key, or None. A key created in another process since the last refresh is
    read from the table; a revoked one is gone from the copy at the next refresh."""
    await refresh_if_stale(every_seconds)
    key_hash = hash_key(key)
    grant = DIRECTORY.keys.get(key_hash)
    if grant is not None:
        return grant
    row = await PartnerKey.get_or_none(key_hash=key_hash, revoked_at__isnull=True)
    if row is None:
        return None
    grant = grant_of(row)
    DIRECTORY.keys[key_hash] = grant
    return grant


async def trusted_document(document_id: str, every_seconds: float) -> TrustedDocument | None:
    await refresh_if_stale(every_seconds)
    return DIRECTORY.documents.get(document_id)
