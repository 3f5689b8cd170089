"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ (decision 160): `extensions.persistedQuery {version: 1, sha256Hash}`. A hash alone is looked up;
unknown, it is answered `PERSISTED_QUERY_NOT_FOUND` (HTTP 200, not cacheable) and Apollo's link resends
with the text. Hash and text together are checked against each other (400 when they differ) and the
text is stored once it has parsed and validated, in Redis with a TTL when configured (so every process
knows it), in this process otherwise.

Trusted documents (GraphQL-over-HTTP persisted documents; decision 161): `documentId: "sha256:<hex>"`
names a document of an active partner manifest. A request made with a partner key may run only the
documents of its application's active manifests, within the key's operations and departments; in
audit mode (`GUALEMA_TRUSTED_DOCUMENTS=audit`) what would be refused is logged and let through.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

from gualema.least_recently_used import LeastRecentlyUsed
from gualema.shared_redis import REDIS_UNREACHABLE
from models import partners
from models.department_scope import DepartmentScope
from models.partners import DOCUMENT_ID, PartnerGrant

log = logging.getLogger("gualema.persisted_queries")

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_FOUND_CACHE_CONTROL = "private, no-cache, must-revalidate"
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
DEPARTMENT_VARIABLES = ("departmentId", "departmentIds")


class DocumentStore(Protocol):
    async def get(self, sha256_hash: str) -> str | None: ...

    async def put(self, sha256_hash: str, text: str) -> None: ...


class InProcessDocuments:
    def __init__(self, max_entries: int) -> None:
        self.entries: LeastRecentlyUsed[str, str] = LeastRecentlyUsed(max_entries)

    async def get(self, sha256_hash: str) -> str | None:
        return self.entries.get(sha256_hash)

    async def put(self, sha256_hash: str, text: str) -> None:
        self.entries.put(sha256_hash, text)


class RedisDocuments:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    async def get(self, sha256_hash: str) -> str | None:
        key = f"{self.prefix}:apq:{sha256_hash}"
        try:
            text = await self.redis.get(key)
            if text is not None:
                await self.redis.expire(key, self.ttl_seconds)  # a document in use stays
        except REDIS_UNREACHABLE as exc:
            # A miss: Apollo's link resends the text, so an outage costs bytes, not answers.
            log.warning("persisted queries: Redis unreachable (%s); answering a miss", type(exc).__name__)
            return None
        if text is None:
            return None
        return text.decode() if isinstance(text, bytes) else str(text)

    async def put(self, sha256_hash: str, text: str) -> None:
        try:
            await self.redis.set(f"{self.prefix}:apq:{sha256_hash}", text, ex=self.ttl_seconds)
        except REDIS_UNREACHABLE as exc:
            log.warning("persisted queries: Redis unreachable (%s); not stored", type(exc).__name__)


class Refused(Exception):
    """The request cannot run as sent; `status` 200 only for PERSISTED_QUERY_NOT_FOUND."""

    def __init__(self, status: int, message: str, code: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


@dataclass(frozen=True)
class Resolved:
    query: str | None  # the text to execute; None: the request carries no persisted reference
    register: str | None = None  # an APQ hash to store `query` under once it has validated
    by_reference: bool = False  # the client sent an id, not the text (cacheable as a GET)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted_query_hash(extensions: object) -> str | None:
    """The APQ hash of the request, None without `persistedQuery`; Refused when it is malformed."""
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise Refused(400, "persistedQuery 只支持 version 1 (only version 1 is supported)", "BAD_REQUEST")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise Refused(400, "sha256Hash 须为 64 位小写十六进制 (64 lowercase hex digits)", "BAD_REQUEST")
    return sha


def is_persisted_request(payload: dict[str, Any]) -> bool:
    extensions = payload.get("extensions")
    return "documentId" in payload or (isinstance(extensions, dict) and "persistedQuery" in extensions)


class PersistedQueries:
    def __init__(self, store: DocumentStore, *, enforce: bool, refresh_seconds: float) -> None:
        self.store = store
        self.enforce = enforce
        self.refresh_seconds = refresh_seconds

    async def resolve(
        self, payload: dict[str, Any], partner: PartnerGrant | None, scope: DepartmentScope
    ) -> Resolved:
        query = payload.get("query")
        document_id = payload.get("documentId")
        sha = persisted_query_hash(payload.get("extensions"))
        if document_id is not None:
            if query is not None:
                raise Refused(400, "documentId 与 query 只能二选一 (send documentId or query)", "BAD_REQUEST")
            return await self._by_document_id(document_id, payload, partner, scope)
        if sha is not None and query is None:
            return await self._by_hash(sha, payload, partner, scope)
        if sha is not None and sha256_hex(str(query)) != sha:
            raise Refused(
                400,
                "sha256Hash 与 query 不符 (provided sha does not match query)",
                "PERSISTED_QUERY_HASH_MISMATCH",
            )
        if partner is not None:
            # Text without an id is what trusted documents keep out, even when a manifest holds it;
            # with a hash (Apollo's retry) it passes when the partner's manifests hold it.
            trusted = None
            if sha is not None:
                trusted = await partners.trusted_document(f"sha256:{sha}", self.refresh_seconds)
            self._check_partner(partner, trusted, payload, scope)
        return Resolved(query=None, register=sha)

    async def _by_document_id(
        self,
        document_id: object,
        payload: dict[str, Any],
        partner: PartnerGrant | None,
        scope: DepartmentScope,
    ) -> Resolved:
        if not isinstance(document_id, str) or not DOCUMENT_ID.fullmatch(document_id):
            raise Refused(400, "documentId 须为 sha256:<64 位十六进制> (sha256:<64 hex>)", "BAD_REQUEST")
        trusted = await partners.trusted_document(document_id, self.refresh_seconds)
        if trusted is None:
            raise Refused(
                400,
                f"未知的文档 {document_id}：不在任何生效的清单中 (unknown document: in no active manifest)",
                "PERSISTED_DOCUMENT_NOT_FOUND",
            )
        if partner is not None:
            self._check_partner(partner, trusted, payload, scope)
        return Resolved(query=trusted.body, by_reference=True)

    async def _by_hash(
        self, sha: str, payload: dict[str, Any], partner: PartnerGrant | None, scope: DepartmentScope
    ) -> Resolved:
        trusted = await partners.trusted_document(f"sha256:{sha}", self.refresh_seconds)
        if partner is not None:
            self._check_partner(partner, trusted, payload, scope)
        text = trusted.body if trusted is not None else await self.store.get(sha)
        if text is None:
            raise Refused(
                200,
                PERSISTED_QUERY_NOT_FOUND,
                PERSISTED_QUERY_NOT_FOUND,
                **{"Cache-Control": NOT_FOUND_CACHE_CONTROL},
            )
        return Resolved(query=text, by_reference=True)

    def _check_partner(
        self,
        partner: PartnerGrant,
        trusted: partners.TrustedDocument | None,
        payload: dict[str, Any],
        scope: DepartmentScope,
    ) -> None:
        problem = partner_problem(partner, trusted, payload, scope)
        if problem is None:
            return
        status, message, code = problem
        if not self.enforce:
            log.warning("trusted documents (audit only) would refuse key %s: %s", partner.key_id, code)
            return
        raise Refused(status, message, code)


def partner_problem(
    partner: PartnerGrant,
    trusted: partners.TrustedDocument | None,
    payload: dict[str, Any],
    scope: DepartmentScope,
) -> tuple[int, str, str] | None:
    """What refuses the request at the edge. The department check here only gives a clear error for a
    variable naming another department; the scope itself is enforced where data is read."""
    if trusted is None or partner.application not in trusted.applications:
        return (
            403,
            "该 API 密钥只能执行其应用生效清单中的文档 (this key may run only documents of its active "
            "manifests; send a documentId)",
            "PERSISTED_DOCUMENT_REQUIRED",
        )
    name = payload.get("operationName") or trusted.operation_name or None
    if not partner.allows_operation(name):
        return (
            403,
            f"该 API 密钥无权执行操作 {name} (operation not granted to this key)",
            "OPERATION_NOT_ALLOWED",
        )
    variables = payload.get("variables") or {}
    for department in _departments(variables):
        if not scope.allows(department):
            return (
                403,
                f"该 API 密钥无权访问科室 {department} (department not granted)",
                "DEPARTMENT_NOT_ALLOWED",
            )
    return None


def _departments(variables: object) -> list[int]:
    """Department ids named by the request's variables (`departmentId`, `departmentIds`, nested)."""
    found: list[int] = []
    stack = [variables]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for name, inner in value.items():
                if name in DEPARTMENT_VARIABLES:
                    for item in inner if isinstance(inner, list) else [inner]:
                        text = str(item)
                        found.append(int(text) if text.isascii() and text.isdigit() else -1)
                else:
                    stack.append(inner)
        elif isinstance(value, list):
            stack.extend(value)
    return found
