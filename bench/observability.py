"""What metrics, logs and traces cost: the same server, the same load, several configurations in one
run, interleaved (A B C A B C …) so that drift on the shared machine hits them alike.

    .venv/bin/python bench/observability.py                       # tracing off vs on
    .venv/bin/python bench/observability.py --reference /tmp/main # …and a checkout without issue 19

Configurations: `off` (this tree, GUALEMA_OTLP_ENDPOINT unset: the production default), `on` (this
tree, spans exported to a local OTLP sink that answers at once), and with --reference the same server
from another checkout (e.g. `git worktree add /tmp/main main`): the code before metrics and tracing.
Load: C keep-alive connections sending a small query that reads the database (`departments`), N per
round. Printed per configuration: requests/s, p50 and p99 latency, server CPU milliseconds per request
(from /proc; the figure least disturbed by other work). Provisional on 2 shared cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from bench.raw_http import RawPool
from bench.servers import cpu_seconds, free_port

QUERY = "{ departments { id name } }"


async def _sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An OTLP/HTTP receiver that reads each export and answers 200 at once."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _start(checkout: Path, database: Path, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "GUALEMA_DATABASE_URL": f"sqlite://{database}",
        "GUALEMA_ENV": "development",
        **extra,
    }
    if "GUALEMA_OTLP_ENDPOINT" not in extra:
        env.pop("GUALEMA_OTLP_ENDPOINT", None)
    python = str(REPOSITORY / ".venv" / "bin" / "python")
    log = open(Path(tempfile.gettempdir()) / f"gualema-bench-obs-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [python, "-m", "gualema", "serve", "--port", str(port), "--demo"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server in {checkout} exited; see {log.name}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become ready")


async def _round(url: str, pid: int, requests: int, connections: int) -> tuple[float, list[float], float]:
    pool = RawPool([url], connections)
    await pool.open()
    await asyncio.gather(*(pool.post("/graphql", {"query": QUERY}, {}) for _ in range(connections)))
    latencies: list[float] = []

    async def one() -> None:
        response, seconds = await pool.post("/graphql", {"query": QUERY}, {})
        assert response.status == 200, response.status
        latencies.append(seconds)

    cpu_before = cpu_seconds([pid])
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds([pid]) - cpu_before
    await pool.close()
    return requests / elapsed, latencies, cpu / requests


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", type=Path, help="another checkout to run as `reference`")
    args = parser.parse_args()

    sink = await asyncio.start_server(_sink, "127.0.0.1", 0)
    sink_url = f"http://127.0.0.1:{sink.sockets[0].getsockname()[1]}"
    tmp = Path(tempfile.mkdtemp(prefix="gualema-bench-obs-"))
    configurations = {
        "off": (REPOSITORY, {}),
        "on": (REPOSITORY, {"GUALEMA_OTLP_ENDPOINT": sink_url}),
    }
    if args.reference:
        configurations["reference"] = (args.reference.resolve(), {})
    servers = {}
    for name, (checkout, extra) in configurations.items():
        servers[name] = _start(checkout, tmp / f"{name}.sqlite3", extra)
    figures: dict[str, list[tuple[float, list[float], float]]] = {name: [] for name in servers}
    try:
        for _ in range(args.rounds):
            for name, (process, url) in servers.items():
                figures[name].append(await _round(url, process.pid, args.requests, args.connections))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=20)
        await asyncio.sleep(0.5)  # the sink's handlers see their connections end before the loop does
        sink.close()

    print(f"{args.rounds} rounds x {args.requests} requests, {args.connections} connections, query {QUERY!r}")
    print(f"{'configuration':<14}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}")
    for name, rounds in figures.items():
        rate = statistics.median(r[0] for r in rounds)
        latencies = sorted(x for r in rounds for x in r[1])
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        cpu = statistics.median(r[2] for r in rounds) * 1000
        print(f"{name:<14}{rate:>12.0f}{p50:>9.1f}{p99:>9.1f}{cpu:>12.3f}")


if __name__ == "__main__":
    asyncio.run(main())
