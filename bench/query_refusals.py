"""What each hostile document of issue 13 costs the server to refuse, beside a trivial query.

    .venv/bin/python -m bench.query_refusals             # 40 requests per case
    .venv/bin/python -m bench.query_refusals --requests 200

Starts `python -m gualema serve --demo` on SQLite, then posts each case N times over HTTP, one at a
time. Every hostile document carries a unique comment per request, so none is served from the
document cache (the attacker's trick in the issue). Printed per case: the answer's status and code,
the median round trip, and the server's own CPU per request (its process's CPU time over the N
requests, from /proc), next to the same figures for `{ __typename }` in the same run. The machine is
shared and has 2 cores: compare the rows with each other, not with other runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from bench.servers import cpu_seconds, start_server, stop_server


@dataclass(frozen=True)
class Case:
    name: str
    body: Callable[[int], bytes]  # request number -> the JSON body


def graphql(query: str, variables: dict[str, object] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def repeated_me(n: int) -> bytes:
    return graphql(f"# probe {n}\n{{ " + " ".join(["me { id }"] * 245) + " }")  # 490 field nodes


def seven_alias_schedules(n: int) -> bytes:
    start = date(2026, 3, 1)
    end = start + timedelta(days=61)
    fields = "id doctorId date period fee remaining status slots { id start end remaining bookable }"
    aliases = " ".join(
        f'd{k}: schedules(dateFrom: "{start}", dateTo: "{end}") {{ {fields} }}' for k in range(7)
    )
    return graphql(f"# probe {n}\n{{ {aliases} }}")


def deep_nesting(n: int) -> bytes:
    depth = 40  # the limit is 12 fields
    query = "{ departments { " + "children { " * depth + "id" + " }" * depth + " } }"
    return graphql(f"# probe {n}\n{query}")


DECLARES_IDS = "query($ids: [ID!]) { __typename }"


def huge_variables(n: int) -> bytes:
    # Under the 256 KiB body cap: 28 000 IDs coerced, then refused as an unused variable.
    return graphql(
        f"# probe {n}\nquery($ids: [ID!]) {{ __typename }}", {"ids": [str(i) for i in range(28_000)]}
    )


def oversized_variables(n: int) -> bytes:
    return graphql(
        f"# probe {n}\nquery($ids: [ID!]) {{ __typename }}", {"ids": [str(i) for i in range(200_000)]}
    )


CASES = [
    Case("trivial { __typename } (cached)", lambda _n: graphql("{ __typename }")),
    Case("trivial, unique comment (uncached)", lambda n: graphql(f"# probe {n}\n{{ __typename }}")),
    Case("490 x me { id }, unique comment", repeated_me),
    Case("7 aliases of schedules, 2 months", seven_alias_schedules),
    Case("nested 40 deep", deep_nesting),
    Case("huge variables (~220 KiB, unused)", huge_variables),
    Case("variables over the body cap (1.3 MiB)", oversized_variables),
]


def outcome(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        errors = []
    # graphql-core's own validation errors carry no code
    codes = sorted({str((error.get("extensions") or {}).get("code", "invalid")) for error in errors})
    return f"{response.status_code} {','.join(codes) or 'ok'}"


def measure(client: httpx.Client, pid: int, case: Case, requests: int) -> tuple[str, float, float]:
    bodies = [case.body(n) for n in range(requests)]
    headers = {"content-type": "application/json"}
    client.post("/graphql", content=case.body(-1), headers=headers)  # warm-up
    latencies = []
    cpu_before = cpu_seconds([pid])
    answer = ""
    for body in bodies:
        started = time.perf_counter()
        response = client.post("/graphql", content=body, headers=headers)
        latencies.append(time.perf_counter() - started)
        answer = outcome(response)
    cpu = (cpu_seconds([pid]) - cpu_before) / requests
    return answer, statistics.median(latencies) * 1000, cpu * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="gualema-bench-refusals-")
    env = {
        "GUALEMA_DATABASE_URL": f"sqlite://{workdir}/bench.sqlite3",
        "GUALEMA_SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
        "GUALEMA_RUN_WORKERS": "false",
        "GUALEMA_REDIS_URL": "",
        "GUALEMA_LOG_LEVEL": "WARNING",
    }
    server = start_server([sys.executable, "-m", "gualema", "serve", "--demo"], env)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            print(f"{'case':40} {'answer':26} {'median ms':>10} {'server CPU ms':>14}")
            for case in CASES:
                answer, median_ms, cpu_ms = measure(client, server.process.pid, case, args.requests)
                print(f"{case.name:40} {answer:26} {median_ms:10.2f} {cpu_ms:14.2f}")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
