"""/metrics: Prometheus text format, guarded by a token or the peer's address; operations by name and
outcome, latency, answers of mutation fields, and what the database holds (queues, outbox, jobs)."""

from __future__ import annotations

import asyncio
import re

import httpx
from pydantic import SecretStr

from models.jobs import enqueue
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.http.conftest import ClientFactory

SAMPLE = re.compile(
    r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
    r"(-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?|[+-]Inf|NaN)"
)

LOGIN = """
mutation Login($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { __typename }
}"""


async def scrape(http: httpx.AsyncClient, **headers: str) -> dict[str, float]:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, float] = {}
    for line in response.text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) [a-z_]+ .+", line), line
            continue
        assert SAMPLE.fullmatch(line), line
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


async def test_operations_are_counted_by_name_outcome_and_answer(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    user = await factories.patient_user()
    before = await scrape(http)

    await gql(LOGIN, {"phone": user.account.phone, "password": "wrong-password"})
    await gql(LOGIN, {"phone": user.account.phone, "password": factories.PASSWORD})
    await gql("{ nope }")

    after = await scrape(http)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('gualema_graphql_operations_total{operation="Login",outcome="ok",type="mutation"}') == 2
    assert grew('gualema_graphql_answers_total{answer="InvalidCredentialsError",field="login"}') == 1
    assert grew('gualema_graphql_answers_total{answer="success",field="login"}') == 1
    assert grew('gualema_graphql_operation_seconds_count{operation="Login"}') == 2
    assert grew('gualema_graphql_operation_seconds_bucket{operation="Login",le="+Inf"}') == 2
    assert grew('gualema_graphql_operations_total{operation="anonymous",outcome="error",type="query"}') == 1


async def test_database_gauges_show_the_job_backlog_and_the_process(http: httpx.AsyncClient) -> None:
    await enqueue("test.nothing", {})
    await enqueue("test.nothing", {})

    samples = await scrape(http)

    assert samples['gualema_jobs{state="due"}'] == 2
    assert samples['gualema_outbox_backlog{outbox="sms"}'] == 0
    assert samples['gualema_process_memory_bytes{kind="resident"}'] > 10_000_000
    assert samples["gualema_subscription_connections"] >= 0
    assert samples['gualema_database_connections{state="size"}'] >= 1


async def test_a_token_guards_metrics_when_set(client_with: ClientFactory) -> None:
    async with client_with(metrics_token=SecretStr("s3cret-scrape-token")) as http:
        refused = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        samples = await scrape(http, Authorization="Bearer s3cret-scrape-token")

    assert (refused.status_code, wrong.status_code) == (403, 403)
    assert 'gualema_jobs{state="due"}' in samples


async def test_without_a_token_only_allowed_networks_may_scrape(app: object) -> None:
    outside = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=outside, base_url="http://testserver") as http:
        refused = await http.get("/metrics")
    assert refused.status_code == 403


async def test_open_subscriptions_are_counted_while_they_run(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    user = await factories.patient_user()
    before = await scrape(http)
    key = "gualema_subscriptions_open"

    async def count_becomes(expected: float) -> None:
        async with asyncio.timeout(10):
            while (await scrape(http))[key] != expected:  # noqa: ASYNC110 (registered on the server's schedule)
                await asyncio.sleep(0.02)

    async with graphql_socket(live_server.ws_url, user.token) as socket:
        await socket.subscribe("subscription { notifications { event } }")
        await count_becomes(before[key] + 1)
        during = await scrape(http)
    await count_becomes(before[key])

    assert during["gualema_subscription_connections"] >= before["gualema_subscription_connections"] + 1


async def test_waiting_patients_are_counted_per_room(http: httpx.AsyncClient) -> None:
    schedule = await factories.clinic_today()
    for _ in range(2):
        booking = await factories.confirmed_booking(schedule)
        await factories.queue_ticket(booking)

    samples = await scrape(http)

    assert samples[f'gualema_queue_waiting{{room="{schedule.room_id}"}}'] == 2
