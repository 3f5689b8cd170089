"""Two server processes dispatch the same outbox: every message is requested from the provider once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from tortoise.transactions import in_transaction

from gualema.database import dialect
from models.notifications import SmsMessage, SmsStatus, notify
from tests import factories
from tests.fixtures.api import ServerProcess
from tests.notifications.conftest import AliyunSandbox

MESSAGES = 500


@pytest.mark.skipif(
    dialect() == "sqlite",
    reason="several processes on one SQLite file serialise on its lock; scale-out is PostgreSQL/MariaDB",
)
async def test_two_dispatcher_processes_deliver_each_of_500_messages_exactly_once(
    aliyun: AliyunSandbox, server_processes: Callable[..., ServerProcess]
) -> None:
    env = {
        **aliyun.env(),
        "GUALEMA_RUN_WORKERS": "true",
        "GUALEMA_NOTIFICATION_DISPATCH_SECONDS": "0.05",
        "GUALEMA_NOTIFICATION_BATCH_SIZE": "50",
    }
    await asyncio.gather(*(asyncio.to_thread(server_processes, extra_env=env) for _ in range(2)))
    patient = await factories.patient_user()

    async with in_transaction():  # committed at once, so both processes race for the same rows
        for n in range(MESSAGES):
            await notify(
                patient.id,
                "queue.your_turn",
                {"patient_name": "王小明", "room": "诊室3", "ticket": f"A{n:03d}"},
                dedupe_key=f"race:{n}",
                in_app=False,
                phone=f"1380000{n:04d}",
            )

    deadline = time.monotonic() + 60
    while await SmsMessage.filter(status=SmsStatus.SENT).count() < MESSAGES:
        if time.monotonic() > deadline:
            rows = await SmsMessage.all().values("status", "attempts", "last_error")
            pytest.fail(f"not all sent within 60 s: {rows[:3]}")
        await asyncio.sleep(0.2)

    keys = await SmsMessage.all().values_list("idempotency_key", flat=True)
    assert len(aliyun.ledger.texts) == MESSAGES
    assert aliyun.ledger.texts_by_key() == dict.fromkeys(keys, 1)
    # Not a second request for any message, not merely a second text the fake refused to count.
    assert aliyun.ledger.requests_by_key == dict.fromkeys(keys, 1)
    assert await SmsMessage.filter(attempts=1).count() == MESSAGES
