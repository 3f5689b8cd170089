from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from gualema.settings import Settings
from integrations.sms.aliyun.client import AliyunSmsProvider
from integrations.sms.aliyun.fake import FakeAliyunSms
from integrations.sms.fake_ledger import FakeSmsLedger, serving
from models.booking import Booking, BookingStatus
from models.message_templates import TEMPLATES
from tests import factories

ACCESS_KEY_ID = "LTAI-test-key"
ACCESS_KEY_SECRET = "aliyun-test-secret"
TEMPLATE_CODES = {event: f"SMS_{n:06d}" for n, event in enumerate(sorted(TEMPLATES), start=100001)}


@dataclass
class AliyunSandbox:
    url: str
    ledger: FakeSmsLedger
    settings: Settings
    provider: AliyunSmsProvider

    def env(self) -> dict[str, str]:
        """The same provider configuration for server processes."""
        return {
            "GUALEMA_SMS_PROVIDER": "aliyun",
            "GUALEMA_SMS_ALIYUN_ENDPOINT": self.url,
            "GUALEMA_SMS_ALIYUN_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "GUALEMA_SMS_ALIYUN_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
            "GUALEMA_SMS_TEMPLATE_CODES": json.dumps(TEMPLATE_CODES),
        }


def dispatcher_settings(settings: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "notification_backoff_seconds": 0.0,  # retries are due at once unless a test says otherwise
        "notification_max_attempts": 6,
        "sms_template_codes": TEMPLATE_CODES,
        **overrides,
    }
    return settings.model_copy(update=values)


@pytest.fixture
async def aliyun(settings: Settings) -> AsyncIterator[AliyunSandbox]:
    fake = FakeAliyunSms({ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    async with serving(fake.app) as url:
        configured = dispatcher_settings(
            settings,
            sms_provider="aliyun",
            sms_aliyun_endpoint=url,
            sms_aliyun_access_key_id=ACCESS_KEY_ID,
            sms_aliyun_access_key_secret=SecretStr(ACCESS_KEY_SECRET),
        )
        provider = AliyunSmsProvider(
            endpoint=url,
            access_key_id=ACCESS_KEY_ID,
            access_key_secret=ACCESS_KEY_SECRET,
            sign_name="挂了吗",
            region="cn-hangzhou",
            template_codes=TEMPLATE_CODES,
            timeout=5,
        )
        yield AliyunSandbox(url, fake.ledger, configured, provider)
        await provider.aclose()


async def confirmed_booking(
    *, visit_in: timedelta = timedelta(days=2), status: BookingStatus = BookingStatus.CONFIRMED
) -> tuple[Booking, factories.Actor]:
    """A booking of a fresh patient 王小明 on a fresh session `visit_in` from now."""
    holder = await factories.patient_user(name="王小明")
    schedule = await factories.session(starts_in=visit_in)
    booking = await factories.confirmed_booking(
        schedule, holder, patient_name="王小明", slot_starts_in=visit_in
    )
    if status is not BookingStatus.CONFIRMED:
        await Booking.filter(id=booking.id).update(status=status)
        booking.status = status
    return booking, holder
