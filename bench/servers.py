"""Server processes for the benchmarks: start one on a free port, wait until it answers, measure it."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPOSITORY = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    ws_url: str
    process: subprocess.Popen[bytes]

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        return cpu_seconds([self.process.pid])


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def start_server(
    command: list[str], env: dict[str, str], ready_path: str = "/readyz", timeout_seconds: float = 90
) -> Server:
    """`command` gets `--port N`; ready when `ready_path` answers below 500."""
    port = free_port()
    # A file, not a pipe: uvicorn logs every WebSocket, and a pipe nobody reads would block the server.
    log_path = Path(tempfile.gettempdir()) / f"gualema-bench-server-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=REPOSITORY,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code < 500:
                return Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql", process)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not become ready in {timeout_seconds:.0f} s")


CGROUP_CPU = Path("/sys/fs/cgroup/cpu")  # cgroup v1; cgroup v2 has cpu.max in the unified tree


def cap_cpu(pids: list[int], cores: float) -> list[Path]:
    """Put each process in its own CPU cgroup limited to `cores` (root only). On a machine that also
    runs the database and the load generator, this stands in for one host per server process: one
    process gets `cores`, two get twice as much, and what is left stays the same for the rest.
    A 10 ms period keeps the throttling pauses short. Returns the groups for `uncap_cpu`."""
    period = 10_000
    if not (CGROUP_CPU / "cpu.cfs_quota_us").exists() or not os.access(CGROUP_CPU, os.W_OK):
        raise SystemExit(f"--cpu-per-process needs root and the cgroup v1 cpu controller at {CGROUP_CPU}")
    groups = []
    for pid in pids:
        group = CGROUP_CPU / f"gualema-bench-{pid}"
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(period))
        (group / "cpu.cfs_quota_us").write_text(str(int(cores * period)))
        (group / "cgroup.procs").write_text(str(pid))
        groups.append(group)
    return groups


def uncap_cpu(groups: list[Path]) -> None:
    for group in groups:
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                (CGROUP_CPU / "cgroup.procs").write_text(pid)
            group.rmdir()
        except OSError:
            pass  # the process is gone, or the group with it


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
