"""Cost-based rate limits: charged up front, refunded after, reported; exhaustion gives a 429."""

from __future__ import annotations

import httpx

from gualema.rate_limits.buckets import BucketPolicy, Day, InProcessBuckets
from schema.catalogue import PLANNED_TOP_DEPARTMENTS
from tests import factories
from tests.http.conftest import ClientFactory
from tests.partners.conftest import DEPARTMENTS, PartnerDesk, document_id, new_application

TODAY = Day("2026-12-03", 3600)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_empties_refuses_with_the_wait_and_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = InProcessBuckets(clock)
    policy = BucketPolicy(capacity=100, restore_rate=10)

    first = await buckets.charge("key:1", 60, policy, TODAY)
    await buckets.settle("key:1", 0, policy, first)
    refused = await buckets.charge("key:1", 60, policy, TODAY)
    clock.now += 2  # 20 units come back
    allowed = await buckets.charge("key:1", 60, policy, TODAY)

    assert (first.allowed, first.available) == (True, 40)
    assert (refused.allowed, refused.limit, refused.retry_after, refused.available) == (False, "cost", 2, 40)
    assert (allowed.allowed, allowed.available) == (True, 0)


async def test_the_unused_part_is_refunded_but_never_above_capacity() -> None:
    buckets = InProcessBuckets(Clock())
    policy = BucketPolicy(capacity=100, restore_rate=1)

    charge = await buckets.charge("account:1", 50, policy, TODAY)
    after_refund = await buckets.settle("account:1", 45, policy, charge)
    charge = await buckets.charge("account:1", 10, policy, TODAY)
    capped = await buckets.settle("account:1", 500, policy, charge)

    assert after_refund == 95
    assert capped == 100


async def test_concurrency_caps_and_daily_quotas_refuse_with_their_reason() -> None:
    buckets = InProcessBuckets(Clock())
    policy = BucketPolicy(capacity=100, restore_rate=1, max_concurrent=1, daily_quota=2)

    charge = await buckets.charge("key:2", 1, policy, TODAY)
    busy = await buckets.charge("key:2", 1, policy, TODAY)
    await buckets.settle("key:2", 0, policy, charge)
    charge = await buckets.charge("key:2", 1, policy, TODAY)
    await buckets.settle("key:2", 0, policy, charge)
    spent = await buckets.charge("key:2", 1, policy, TODAY)
    tomorrow = await buckets.charge("key:2", 1, policy, Day("2026-12-04", 86400))

    assert (busy.allowed, busy.limit) == (False, "concurrency")
    assert (spent.allowed, spent.limit, spent.retry_after) == (False, "daily", 3600)
    assert tomorrow.allowed


async def test_a_partner_sees_its_cost_and_bucket_in_extensions_and_headers(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    app = new_application()
    await desk.manifest(app, DEPARTMENTS)
    partner = await desk.key(app, bucketCapacity=500, restoreRate=5)

    response = await http.post(
        "/graphql", json={"documentId": document_id(DEPARTMENTS)}, headers=partner.headers
    )

    cost = response.json()["extensions"]["cost"]
    departments = len(response.json()["data"]["departments"])
    # `departments` counts the departments a hospital of ours is planned for (decision 211)
    assert cost["requestedQueryCost"] == 1 + PLANNED_TOP_DEPARTMENTS * 2
    assert cost["actualQueryCost"] == 1 + departments * 2
    assert cost["throttleStatus"] == {
        "maximumAvailable": 500,
        "currentlyAvailable": cost["throttleStatus"]["currentlyAvailable"],
        "restoreRate": 5,
    }
    assert 500 - (1 + PLANNED_TOP_DEPARTMENTS * 2) <= cost["throttleStatus"]["currentlyAvailable"] <= 500
    assert response.headers["ratelimit-policy"] == '"cost";q=500;w=100'
    assert response.headers["ratelimit"].startswith('"cost";r=')


async def test_an_exhausted_key_gets_a_typed_429_with_retry_after(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    app = new_application()
    await desk.manifest(app, DEPARTMENTS)
    partner = await desk.key(app, bucketCapacity=100, restoreRate=1)
    for _ in range(5):
        await factories.department()  # each answer then costs at least 11 of the 61 charged
    request = {"documentId": document_id(DEPARTMENTS)}

    answers = [await http.post("/graphql", json=request, headers=partner.headers) for _ in range(40)]
    refused = next(answer for answer in answers if answer.status_code != 200)

    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "THROTTLED"
    assert error["message"].startswith("请求过于频繁")
    assert refused.json()["extensions"]["cost"]["requestedQueryCost"] == 1 + PLANNED_TOP_DEPARTMENTS * 2
    assert refused.headers["ratelimit-policy"] == '"cost";q=100;w=100'


async def test_an_account_is_limited_by_its_own_bucket(client_with: ClientFactory) -> None:
    patient = await factories.patient_user()
    query = {"query": "{ me { id name } }"}
    headers = {"Authorization": f"Bearer {patient.token}"}

    async with client_with(account_bucket_capacity=10, account_restore_rate=1) as http:
        answers = [await http.post("/graphql", json=query, headers=headers) for _ in range(12)]

    assert answers[0].json()["extensions"]["cost"]["requestedQueryCost"] == 3
    assert answers[0].json()["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 10
    assert 429 in {answer.status_code for answer in answers}
