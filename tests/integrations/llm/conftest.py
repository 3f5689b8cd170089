from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn

from integrations.llm.fake import FakeLlm
from tests.fixtures.api import free_port


@dataclass
class RunningFake:
    fake: FakeLlm
    base_url: str


@pytest.fixture
async def fake_llm() -> AsyncIterator[RunningFake]:
    fake = FakeLlm(
        answer={"reply": "建议您去皮肤科看看。请避免抓挠。", "specialties": ["dermatology"], "urgency": "IV"}
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            fake.app(),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no "started" event to wait on)
        await asyncio.sleep(0.02)
    yield RunningFake(fake, f"http://127.0.0.1:{port}/v1")
    server.should_exit = True
    await task
