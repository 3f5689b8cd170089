"""Whom a request is charged to, how much, and how the bucket's state is reported.

The requested cost is the query-cost rule's estimate (gualema/query_cost.py) of the operation that
runs, with the request's variables; the actual cost counts the fields of the answer, so a list that
came back short is refunded.
The state is reported the way Shopify's Admin API does (`extensions.cost`) and in the IETF
RateLimit-Policy / RateLimit header fields (decision 163).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
)

from gualema.least_recently_used import LeastRecentlyUsed
from gualema.query_cost import OPERATION_COSTS
from gualema.rate_limits.buckets import BucketPolicy, Buckets, Charge, Day
from gualema.settings import Settings
from models.partners import PartnerGrant
from resolvers.context import DISPLAY_ROLE, STATISTICS_DISPLAY_ROLE, Context

SCREEN_ROLES = frozenset({DISPLAY_ROLE, STATISTICS_DISPLAY_ROLE})


@dataclass(frozen=True)
class OperationFacts:
    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    root_fields: frozenset[str]
    query: str
    operation_name: str | None
    # Every root selection is a plain field (no fragment at the root hides another root field).
    only_fields: bool = False

    @property
    def operation_type(self) -> OperationType:
        return self.operation.operation

    def cost(self, variables: dict[str, Any] | None) -> int:
        """Depends on the variables (`first: $n`): kept per values of the variables bounds read."""
        cost = OPERATION_COSTS.cost(
            self.schema, self.query, self.operation_name, self.document, self.operation, variables
        )
        return max(1, cost)


class OperationFactsCache:
    """The parsed operation and its root fields per (document text, operation name); bounded,
    least recently used out."""

    def __init__(self, schema: GraphQLSchema, max_tokens: int, size: int = 1024) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        # None for a document that does not parse or names no operation: remembered as well.
        self.entries: LeastRecentlyUsed[tuple[str, str | None], OperationFacts | None] = LeastRecentlyUsed(
            size
        )

    def get(self, query: str, operation_name: str | None) -> OperationFacts | None:
        key = (query, operation_name)
        if key in self.entries:
            return self.entries.get(key)
        facts = self._measure(query, operation_name)
        self.entries.put(key, facts)
        return facts

    def _measure(self, query: str, operation_name: str | None) -> OperationFacts | None:
        """None when the document does not parse or names no operation: execution reports that."""
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except (GraphQLError, RecursionError):
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)
        ]
        if len(chosen) != 1 or (operation_name is None and len(operations) != 1):
            return None
        operation = chosen[0]
        roots = frozenset(
            selection.name.value  # type: ignore[attr-defined]
            for selection in operation.selection_set.selections
            if selection.kind == "field"
        )
        only_fields = all(selection.kind == "field" for selection in operation.selection_set.selections)
        return OperationFacts(self.schema, document, operation, roots, query, operation_name, only_fields)


def actual_cost(data: Any) -> int:
    """Every field in the answer counts 1 (lists: each item's fields)."""
    if isinstance(data, dict):
        return sum(1 + actual_cost(value) for value in data.values())
    if isinstance(data, list):
        return sum(actual_cost(item) for item in data)
    return 0


class Throttled(Exception):
    def __init__(self, charge: Charge, report: dict[str, Any], headers: dict[str, str]) -> None:
        super().__init__(charge.limit)
        self.charge = charge
        self.report = report
        self.headers = headers


THROTTLED_MESSAGES = {
    "cost": "请求过于频繁，查询额度不足 (throttled: not enough query cost left)",
    "concurrency": "同时进行的请求过多 (throttled: too many requests at once)",
    "daily": "今日请求次数已用完 (throttled: the daily quota is used up)",
}


def throttled_error(exc: Throttled) -> dict[str, Any]:
    """The one GraphQL error of a refusal, over HTTP (with 429) and over WebSocket alike."""
    return {
        "message": THROTTLED_MESSAGES.get(exc.charge.limit, THROTTLED_MESSAGES["cost"]),
        "extensions": {
            "code": "THROTTLED",
            "limit": exc.charge.limit,
            "retryAfter": exc.charge.retry_after,
            "cost": exc.report,
        },
    }


@dataclass(frozen=True)
class Subject:
    name: str  # "key:7", "account:42"
    policy: BucketPolicy


class RateLimiter:
    def __init__(self, settings: Settings, buckets: Buckets) -> None:
        self.settings = settings
        self.buckets = buckets

    def subject_of(self, context: Context, partner: PartnerGrant | None) -> Subject:
        """A key, else an account, else the client's address (decision 221)."""
        s = self.settings
        if partner is not None:
            policy = BucketPolicy(
                capacity=partner.bucket_capacity or s.partner_bucket_capacity,
                restore_rate=partner.restore_rate or s.partner_restore_rate,
                max_concurrent=partner.max_concurrent or s.partner_max_concurrent,
                daily_quota=partner.daily_quota or s.partner_daily_quota,
            )
            return Subject(f"key:{partner.key_id}", policy)
        if context.viewer.account_id is not None:
            policy = BucketPolicy(
                capacity=s.account_bucket_capacity,
                restore_rate=s.account_restore_rate,
                max_concurrent=s.account_max_concurrent,
                daily_quota=s.account_daily_quota,
            )
            return Subject(f"account:{context.viewer.account_id}", policy)
        policy = BucketPolicy(
            capacity=s.anonymous_bucket_capacity,
            restore_rate=s.anonymous_restore_rate,
            max_concurrent=s.anonymous_max_concurrent,
            daily_quota=s.anonymous_daily_quota,
        )
        viewer = context.viewer
        if viewer.role in SCREEN_ROLES and viewer.token_id:
            # A waiting-room TV or the big screen: a device staff issued a token to. Each has its own
            # bucket, so the screens of a hospital behind one NAT do not share the address's budget
            # (dozens resubscribe at once after a restart) nor spend the patients' on its Wi-Fi.
            return Subject(f"screen:{viewer.token_id}", policy)
        return Subject(f"address:{context.client_ip}", policy)

    def today(self, now: datetime) -> Day:
        local = now.astimezone(self.settings.tz)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return Day(local.date().isoformat(), max(1, math.ceil((midnight - local).total_seconds())))

    async def charge(self, subject: Subject, requested: int, now: datetime) -> Charge:
        # A document dearer than the whole bucket could never run: it is charged a full bucket.
        cost = min(requested, subject.policy.capacity)
        charge = await self.buckets.charge(subject.name, cost, subject.policy, self.today(now))
        if not charge.allowed:
            policy = policy_of(subject, charge)
            report = cost_report(requested, None, charge.available, policy)
            raise Throttled(charge, report, rate_limit_headers(policy, charge.available))
        return charge

    async def settle(self, subject: Subject, charge: Charge, requested: int, actual: int) -> int:
        charged = min(requested, subject.policy.capacity)
        return await self.buckets.settle(subject.name, max(0, charged - actual), subject.policy, charge)


def policy_of(subject: Subject, charge: Charge) -> BucketPolicy:
    """The bucket the charge was taken from: the subject's, or this process's share of it."""
    return charge.share or subject.policy


def cost_report(requested: int, actual: int | None, available: int, policy: BucketPolicy) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": policy.capacity,
            "currentlyAvailable": available,
            "restoreRate": policy.restore_rate,
        },
    }


def rate_limit_headers(policy: BucketPolicy, available: int) -> dict[str, str]:
    refill = math.ceil(max(0, policy.capacity - available) / policy.restore_rate)
    return {
        "RateLimit-Policy": f'"cost";q={policy.capacity};w={policy.window_seconds}',
        "RateLimit": f'"cost";r={max(0, available)};t={refill}',
    }
