"""What the document cache and the query limits cost or save per request, in one process.

    .venv/bin/python bench/graphql_documents.py            # 3 s per case
    .venv/bin/python bench/graphql_documents.py --seconds 10

Each case posts the same query over and over to the /graphql endpoint in-process (httpx's ASGI
transport, no sockets), so the figures are the endpoint's own cost: request checks, parsing,
validation (depth and alias rules), the cost check, execution, serialisation. "uncached" builds the
schema with a document cache of zero capacity, so every request parses and validates again.
Printed per case: requests/s and p50/p99 latency. No database query is involved. The machine is
shared and has 2 cores: quote figures as provisional.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import httpx

os.environ.setdefault("GUALEMA_SECRET_KEY", "bench-secret-0123456789abcdef0123456789")
os.environ.setdefault("GUALEMA_RUN_WORKERS", "false")

from graphql import get_introspection_query

from gualema.document_cache import DocumentCache
from gualema.graphql_endpoint import GraphQLEndpoint
from gualema.graphql_schema import schema_for
from gualema.settings import Settings

QUERIES = {
    "trivial": "{ __typename }",
    "introspection (GraphiQL's)": None,  # filled from graphql-core below
}


async def measure(label: str, cache: DocumentCache, query: str, seconds: float) -> None:
    settings = Settings()
    endpoint = GraphQLEndpoint(schema_for(settings, cache), settings)
    transport = httpx.ASGITransport(app=endpoint)
    latencies: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(20):  # warm up
            await client.post("/graphql", json={"query": query})
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": query})
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"{label:<44} {len(latencies) / seconds:>8.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    QUERIES["introspection (GraphiQL's)"] = get_introspection_query(descriptions=True)
    for name, query in QUERIES.items():
        assert query is not None
        await measure(
            f"{name}, cached", DocumentCache(max_entries=1024, max_tokens=200_000), query, args.seconds
        )
        await measure(f"{name}, uncached", DocumentCache(max_entries=0, max_tokens=0), query, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
