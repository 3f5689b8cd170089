"""docker/: the image runs the repository as a non-root user with a health check; compose wires two
API replicas behind a balancer with PostgreSQL, Redis and a one-shot migration."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from gualema.metrics import ANSWERS, GAUGES, LATENCY, OPERATIONS, PAYMENT_NOTIFICATIONS
from tests.fixtures.api import REPOSITORY

DOCKER = REPOSITORY / "docker"


def dockerfile_instructions() -> list[tuple[str, str]]:
    # Docker drops comment lines first (also inside continuations), then joins continued lines.
    lines = (DOCKER / "Dockerfile").read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#")).replace("\\\n", " ")
    instructions = [line.strip().split(None, 1) for line in text.splitlines() if line.strip()]
    return [(kind.upper(), value) for kind, value in instructions]


def test_the_image_is_slim_non_root_healthchecked_and_serves_from_the_repository_root() -> None:
    instructions = dockerfile_instructions()
    values = {kind: [value for k, value in instructions if k == kind] for kind, _ in instructions}

    assert values["FROM"] == ["python:3.11-slim"]
    assert values["WORKDIR"] == ["/app"]
    assert any("pip install -r requirements.txt" in run for run in values["RUN"])
    assert values["USER"] == ["gualema"]
    # The last USER comes after every COPY/RUN that needs root.
    kinds = [kind for kind, _ in instructions]
    assert kinds.index("USER") > max(i for i, kind in enumerate(kinds) if kind in {"RUN", "COPY"})
    [healthcheck] = values["HEALTHCHECK"]
    assert "python" in healthcheck
    assert "/healthz" in healthcheck
    assert values["CMD"] == ['["python", "-m", "gualema", "serve", "--host", "0.0.0.0", "--port", "8000"]']


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = (REPOSITORY / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", ".env", "*.sqlite3", "tests"):
        assert entry in ignored


def compose_config() -> dict[str, Any]:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        rendered = subprocess.run(
            ["docker", "compose", "-f", str(DOCKER / "compose.yml"), "config", "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "/usr/bin:/bin:/usr/local/bin"},  # as the issue runs it: no variables set
        )

        config: dict[str, Any] = json.loads(rendered.stdout)
        return config
    yaml = pytest.importorskip("yaml", reason="neither the docker compose plugin nor PyYAML is installed")
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yml").read_text(encoding="utf-8"))
    return loaded


def test_compose_runs_two_api_replicas_after_the_migration() -> None:
    services = compose_config()["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "api-1", "api-2", "balancer"}
    for api in ("api-1", "api-2"):
        depends = services[api]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert services[api]["environment"]["GUALEMA_ENV"] == "production"
    assert services["migrate"]["command"] == ["python", "-m", "gualema", "migrate"]
    assert set(services["balancer"]["depends_on"]) == {"api-1", "api-2"}


def test_compose_watches_the_replicas_with_prometheus_and_grafana() -> None:
    services = compose_config()["services"]
    prometheus_address = services["prometheus"]["networks"]["backend"]["ipv4_address"]
    for api in ("api-1", "api-2"):
        assert services[api]["environment"]["GUALEMA_METRICS_ALLOWED_NETWORKS"] == f"{prometheus_address}/32"
    assert "prometheus" in str(services["grafana"]["depends_on"])
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the Prometheus configuration")
    scrape = yaml.safe_load((DOCKER / "prometheus.yml").read_text(encoding="utf-8"))["scrape_configs"]
    assert scrape[0]["static_configs"][0]["targets"] == ["api-1:8000", "api-2:8000"]
    assert "location = /metrics" in (DOCKER / "nginx.conf").read_text(encoding="utf-8")


def test_the_grafana_dashboard_reads_only_metrics_the_server_exports() -> None:
    exported: set[str] = {m.name for m in (OPERATIONS, ANSWERS, PAYMENT_NOTIFICATIONS, *GAUGES)}  # type: ignore[attr-defined]
    exported.add(f"{LATENCY.name}_bucket")
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "gualema.json").read_text(encoding="utf-8"))
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"gualema_[a-z_]+", target["expr"])
    }
    assert used == exported  # every metric is on the dashboard (latency by its buckets), nothing else
