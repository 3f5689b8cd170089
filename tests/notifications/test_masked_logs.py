"""Phone numbers never reach the logs in full, and login codes not at all."""

from __future__ import annotations

import logging

import pytest

from integrations.sms.console import ConsoleSmsProvider
from models import verification_codes
from models.notifications import notify
from resolvers.notifications import dispatch_sms
from tests import factories
from tests.notifications.conftest import AliyunSandbox


async def test_the_console_provider_logs_masked_phones_and_hides_codes(
    caplog: pytest.LogCaptureFixture, aliyun: AliyunSandbox
) -> None:
    patient = await factories.patient_user(phone="13912345678")
    await notify(
        patient.id,
        "refund.completed",
        {"patient_name": "王小明", "amount_fen": 500},
        dedupe_key="r",
        in_app=False,
    )
    await verification_codes.issue(
        "13912345678",
        secret="s",
        minutes=5,
        max_attempts=5,
        locale="zh",
        tz=aliyun.settings.tz,
        account_id=None,
    )

    with caplog.at_level(logging.DEBUG):
        report = await dispatch_sms(aliyun.settings, ConsoleSmsProvider())

    assert report.sent == 2
    assert "13912345678" not in caplog.text
    assert "139****5678" in caplog.text
    assert "王小明，5.00元已原路退回" in caplog.text
    assert "您的验证码是******" in caplog.text


async def test_a_failing_provider_is_logged_with_the_masked_phone(
    caplog: pytest.LogCaptureFixture, aliyun: AliyunSandbox
) -> None:
    patient = await factories.patient_user(phone="13912340000")
    await notify(
        patient.id, "refund.completed", {"patient_name": "x", "amount_fen": 1}, dedupe_key="f", in_app=False
    )
    aliyun.ledger.fail_next("isp.SYSTEM_ERROR")

    with caplog.at_level(logging.DEBUG):
        await dispatch_sms(aliyun.settings, aliyun.provider)

    assert "13912340000" not in caplog.text
    assert (
        "SMS refund.completed to 139****0000 attempt 1/6 failed (isp.SYSTEM_ERROR); will retry" in caplog.text
    )
