"""Throughput of a persisted GET against the same query sent as text, and of a 304 revalidation.

    .venv/bin/python bench/persisted_queries.py                 # 5 s per case
    .venv/bin/python bench/persisted_queries.py --seconds 10

Starts one `python -m gualema serve --demo` process on a scratch SQLite file and sends the demo
hospital's department tree (a public catalogue query) one request at a time over one keep-alive
connection, for each case in turn within the same run:
  text POST        the document's text, parsed/validated once then served from the document cache
  persisted GET    Apollo's APQ hash only (`extensions.persistedQuery`), no text
  304 revalidation the persisted GET with `If-None-Match` of the previous answer's ETag
Printed: requests/s, p50 and p99, and each case's ratio to the text POST; first the floor, a
bare /healthz, which no GraphQL request can beat. The machine is shared
and has 2 cores: compare figures of one run, never across runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import httpx

from bench.servers import start_server, stop_server

QUERY = "query Departments { departments { id name building floor children { id name } } }"
SHA = hashlib.sha256(QUERY.encode()).hexdigest()
EXTENSIONS = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": SHA}})


def measure(send: Callable[[], httpx.Response], expected: int, seconds: float) -> tuple[float, float, float]:
    for _ in range(50):  # warm up
        assert send().status_code == expected
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = send()
        latencies.append(time.perf_counter() - started)
        assert response.status_code == expected, response.text
    latencies.sort()
    return (
        len(latencies) / seconds,
        statistics.median(latencies) * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="gualema-bench-pq-")
    env = {
        **os.environ,
        "GUALEMA_DATABASE_URL": f"sqlite://{workdir}/bench.sqlite3",
        "GUALEMA_SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
        "GUALEMA_RUN_WORKERS": "false",
        # Anonymous requests are charged per address (decision 221): the charge still runs, but a
        # bucket this large never refuses, so the figures measure serving rather than the limit.
        "GUALEMA_ANONYMOUS_BUCKET_CAPACITY": "1000000000",
        "GUALEMA_ANONYMOUS_RESTORE_RATE": "1000000000",
    }
    env.pop("GUALEMA_REDIS_URL", None)
    server = start_server([sys.executable, "-m", "gualema", "serve", "--demo"], env)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            registered = client.post("/graphql", json={"query": QUERY, "extensions": json.loads(EXTENSIONS)})
            assert "errors" not in registered.json(), registered.text
            persisted = {"operationName": "Departments", "extensions": EXTENSIONS}
            etag = client.get("/graphql", params=persisted).headers["etag"]
            cases: list[tuple[str, Callable[[], httpx.Response], int]] = [
                ("text POST", lambda: client.post("/graphql", json={"query": QUERY}), 200),
                ("persisted GET (APQ hash)", lambda: client.get("/graphql", params=persisted), 200),
                (
                    "304 revalidation (If-None-Match)",
                    lambda: client.get("/graphql", params=persisted, headers={"If-None-Match": etag}),
                    304,
                ),
            ]
            floor, _, _ = measure(lambda: client.get("/healthz"), 200, args.seconds)
            print(f"{'(floor: GET /healthz)':<34} {floor:>7.0f} req/s")
            reference = None
            for label, send, expected in cases:
                rate, p50, p99 = measure(send, expected, args.seconds)
                reference = reference or rate
                print(
                    f"{label:<34} {rate:>7.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
                    f"   x{rate / reference:.2f} of text POST"
                )
    finally:
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
