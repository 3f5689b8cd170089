"""The big screen (数据大屏): one process computes per interval under a lease, a change is pushed, an
unchanged interval pushes nothing, and the page shows the figures in headless Chromium."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from gualema.settings import Settings
from models.clock import utcnow
from models.scheduling import Slot
from models.statistics import dashboard
from models.statistics.tables import StatisticsLease
from resolvers.statistics import refresh_dashboard
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.queueing.conftest import Clinic, arrive, clinic
from tests.queueing.test_display_page import chromium, open_page, requires_chromium
from tests.statistics.scenario import people, place

__all__ = ["chromium", "clinic"]  # fixtures used here

ISSUE = "mutation { issueDashboardToken { token tokenId expiresAt pagePath } }"
INTERVAL = timedelta(seconds=5)


async def test_one_holder_computes_and_pushes_only_changes(settings: Settings) -> None:
    await StatisticsLease.filter(name=dashboard.LEASE).delete()
    pushed: list[dict[str, Any]] = []

    async def publish(figures: dict[str, Any]) -> None:
        pushed.append(figures)

    now = utcnow()
    first = await dashboard.refresh("process-a", now, settings.tz, INTERVAL, publish)
    unchanged = await dashboard.refresh("process-a", now + INTERVAL, settings.tz, INTERVAL, publish)
    other = await dashboard.refresh("process-b", now + INTERVAL, settings.tz, INTERVAL, publish)
    assert (first, unchanged, other) == (True, False, False)

    schedule = await factories.session(capacity=3, starts_in=timedelta(hours=2))
    (patient,) = await people(1)
    await place(patient, await Slot.get(schedule_id=schedule.id), utcnow())
    changed = await dashboard.refresh("process-a", utcnow(), settings.tz, INTERVAL, publish)

    assert changed is True
    assert len(pushed) == 2
    assert pushed[1]["registrations"] == pushed[0]["registrations"] + 1
    # The holder stopped renewing: after the lease lapses another process takes over, and pushes
    # nothing while nothing changed.
    later = utcnow() + INTERVAL * 4
    assert await dashboard.refresh("process-b", later, settings.tz, INTERVAL, publish) is False
    assert (await StatisticsLease.get(name=dashboard.LEASE)).holder == "process-b"
    assert len(pushed) == 2


async def test_the_dashboard_is_for_administrators_and_dashboard_tokens_only(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    refused = await gql.as_(patient.token)(ISSUE)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    admin = await factories.admin_user()
    issued = (await gql.as_(admin.token).data(ISSUE))["issueDashboardToken"]
    assert issued["pagePath"] == f"/dashboard?token={issued['token']}"
    # The screen's token opens nothing else.
    me = await gql.as_(issued["token"])("{ me { id } }")
    assert me["errors"][0]["extensions"]["code"] in {"UNAUTHENTICATED", "FORBIDDEN"}

    page = await gql.http.get("/dashboard?token=abc")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "abc" not in page.text
    assert "<script src" not in page.text  # no script from anywhere, least of all a CDN
    assert "default-src 'none'" in page.headers["content-security-policy"]


def save_artefact(name: str, content: bytes, tmp_root: Path) -> None:
    """Test artefacts go to GUALEMA_TEST_ARTEFACTS (CI keeps them), else beside the test database."""
    artefacts = Path(os.environ.get("GUALEMA_TEST_ARTEFACTS") or tmp_root / "artefacts")
    artefacts.mkdir(parents=True, exist_ok=True)
    (artefacts / name).write_bytes(content)


@requires_chromium
async def test_the_big_screen_shows_todays_figures_and_follows_a_change(
    gql: GraphQLClient,
    live_server: LiveServer,
    clinic: Clinic,
    chromium: str,
    settings: Settings,
    tmp_root: Path,
) -> None:
    await StatisticsLease.filter(name=dashboard.LEASE).delete()
    await arrive(gql, clinic, name="张小三", number=1)
    await arrive(gql, clinic, name="李四", number=2)
    await refresh_dashboard(settings)
    admin = await factories.admin_user()
    issued = (await gql.as_(admin.token).data(ISSUE))["issueDashboardToken"]

    async with open_page(chromium) as page:
        await page.command(
            "Emulation.setDeviceMetricsOverride", width=1920, height=1080, deviceScaleFactor=1, mobile=False
        )
        await page.command("Page.navigate", url=f"{live_server.url}{issued['pagePath']}")
        status = await page.wait_for("document.getElementById('status').dataset.state", "live")
        before = int(await page.evaluate("window.dashboard.registrations"))
        waiting = await page.evaluate("document.getElementById('waiting').textContent")

        schedule = await factories.session(capacity=3, starts_in=timedelta(hours=2))
        (patient,) = await people(1)
        await place(patient, await Slot.get(schedule_id=schedule.id), utcnow())
        await refresh_dashboard(settings)
        shown = await page.wait_for("document.getElementById('registrations').textContent", str(before + 1))
        shot = await page.command("Page.captureScreenshot", format="png")

    save_artefact("dashboard.png", base64.b64decode(shot["data"]), tmp_root)
    assert status == "live"
    assert shown == str(before + 1)
    assert "2" in waiting  # two patients wait in the clinic's department
