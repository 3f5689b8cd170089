"""The transactional outbox: what is committed is sent once; what is rolled back is never sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from models import verification_codes
from models.clock import utcnow
from models.message_templates import TemplateError
from models.notifications import Notification, SmsMessage, SmsStatus, claim_due_sms, notify
from resolvers.notifications import dispatch_sms
from tests import factories
from tests.notifications.conftest import AliyunSandbox, dispatcher_settings

PAID = {"patient_name": "王小明", "department": "心内科", "amount_fen": 2550}


class ChangeAbandoned(Exception):
    pass


async def payment_that_is_rolled_back(account_id: int) -> None:
    async with in_transaction():
        await notify(account_id, "payment.received", PAID, dedupe_key="payment.received:1")
        raise ChangeAbandoned()


async def test_a_change_rolled_back_sends_nothing(aliyun: AliyunSandbox) -> None:
    patient = await factories.patient_user()
    with pytest.raises(ChangeAbandoned):
        await payment_that_is_rolled_back(patient.id)

    report = await dispatch_sms(aliyun.settings, aliyun.provider)

    assert report.sent == 0
    assert await SmsMessage.all().count() == 0
    assert await Notification.all().count() == 0
    assert aliyun.ledger.texts == []


async def test_a_committed_change_is_texted_once_and_a_repeated_dedupe_key_records_nothing(
    aliyun: AliyunSandbox,
) -> None:
    patient = await factories.patient_user(phone="13800001111")
    for _ in range(2):
        async with in_transaction():
            await notify(patient.id, "payment.received", PAID, dedupe_key="payment.received:7")

    first = await dispatch_sms(aliyun.settings, aliyun.provider)
    again = await dispatch_sms(aliyun.settings, aliyun.provider)

    assert (first.sent, again.sent) == (1, 0)
    [text] = aliyun.ledger.texts
    assert text.phone == "13800001111"
    assert text.params == {"patient_name": "王小明", "department": "心内科", "amount_fen": "25.50"}
    row = await SmsMessage.get(dedupe_key="payment.received:7")
    assert (row.status, row.attempts, row.provider_message_id) == (SmsStatus.SENT, 1, text.message_id)
    assert row.body == "[redacted after sending]"  # the text lives only until it is dispatched
    assert await Notification.filter(account_id=patient.id).count() == 1


@pytest.mark.usefixtures("aliyun")
async def test_sms_or_in_app_alone_can_be_chosen() -> None:
    patient = await factories.patient_user()
    await notify(patient.id, "payment.received", PAID, dedupe_key="only-app", sms=False)
    await notify(patient.id, "payment.received", PAID, dedupe_key="only-sms", in_app=False)

    assert await SmsMessage.all().values_list("dedupe_key", flat=True) == ["only-sms"]
    assert await Notification.all().values_list("dedupe_key", flat=True) == ["only-app"]


@pytest.mark.usefixtures("aliyun")
async def test_wrong_template_variables_fail_the_callers_change() -> None:
    patient = await factories.patient_user()
    with pytest.raises(
        TemplateError, match=r"missing variables \['amount_fen'\], unknown variables \['amount'\]"
    ):
        async with in_transaction():
            await notify(
                patient.id,
                "payment.received",
                {"patient_name": "王小明", "department": "心内科", "amount": 25},
                dedupe_key="bad",
            )
    assert await SmsMessage.all().count() == 0


async def test_a_provider_failing_twice_then_succeeding_delivers_once(aliyun: AliyunSandbox) -> None:
    patient = await factories.patient_user()
    await notify(patient.id, "payment.received", PAID, dedupe_key="flaky")
    aliyun.ledger.fail_next("isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL")

    reports = [await dispatch_sms(aliyun.settings, aliyun.provider) for _ in range(3)]

    assert [(r.sent, r.retried) for r in reports] == [(1, 2), (0, 0), (0, 0)]
    row = await SmsMessage.get(dedupe_key="flaky")
    assert (row.status, row.attempts) == (SmsStatus.SENT, 3)
    assert aliyun.ledger.requests_by_key == {row.idempotency_key: 3}
    assert aliyun.ledger.texts_by_key() == {row.idempotency_key: 1}


async def test_retries_back_off_exponentially(aliyun: AliyunSandbox) -> None:
    settings = dispatcher_settings(aliyun.settings, notification_backoff_seconds=60.0)
    patient = await factories.patient_user()
    await notify(patient.id, "payment.received", PAID, dedupe_key="backoff")
    aliyun.ledger.fail_next("isp.SYSTEM_ERROR", "isp.SYSTEM_ERROR")

    waits = []
    for _ in range(2):
        before = utcnow()
        await dispatch_sms(settings, aliyun.provider)
        row = await SmsMessage.get(dedupe_key="backoff")
        waits.append(round((row.next_attempt_at - before).total_seconds() / 60))
        # Not due yet: another round sends nothing; then the test lets the wait pass.
        assert (await dispatch_sms(settings, aliyun.provider)).handled == 0
        await SmsMessage.filter(id=row.id).update(next_attempt_at=utcnow())

    assert waits == [1, 2]
    assert (await dispatch_sms(settings, aliyun.provider)).sent == 1


async def test_the_dispatcher_gives_up_after_the_configured_attempts_and_records_why(
    aliyun: AliyunSandbox,
) -> None:
    settings = dispatcher_settings(aliyun.settings, notification_max_attempts=3)
    patient = await factories.patient_user()
    async with in_transaction():
        await notify(patient.id, "payment.received", PAID, dedupe_key="doomed")
    aliyun.ledger.fail_next(*["isp.SYSTEM_ERROR"] * 5)
    # notify() took max_attempts from the settings of the process; this test's dispatcher allows 3.
    await SmsMessage.filter(dedupe_key="doomed").update(max_attempts=3)

    reports = [await dispatch_sms(settings, aliyun.provider) for _ in range(4)]

    assert [(r.retried, r.failed) for r in reports] == [(2, 1), (0, 0), (0, 0), (0, 0)]
    row = await SmsMessage.get(dedupe_key="doomed")
    assert (row.status, row.attempts, row.last_error) == (
        SmsStatus.FAILED,
        3,
        "isp.SYSTEM_ERROR: planned failure",
    )
    assert row.failed_at is not None
    assert aliyun.ledger.texts == []


async def test_a_permanent_provider_error_fails_at_once(aliyun: AliyunSandbox) -> None:
    patient = await factories.patient_user()
    await notify(patient.id, "payment.received", PAID, dedupe_key="bad-number", phone="10000")

    report = await dispatch_sms(aliyun.settings, aliyun.provider)

    row = await SmsMessage.get(dedupe_key="bad-number")
    assert (report.failed, row.status, row.attempts) == (1, SmsStatus.FAILED, 1)
    assert row.last_error.startswith("isv.MOBILE_NUMBER_ILLEGAL")


async def test_a_message_whose_dispatcher_died_is_sent_after_its_lease_with_the_same_key(
    aliyun: AliyunSandbox,
) -> None:
    patient = await factories.patient_user()
    await notify(patient.id, "payment.received", PAID, dedupe_key="orphan")
    # A dispatcher claims the message and dies before sending.
    [claimed] = await claim_due_sms(lease=timedelta(seconds=60), limit=10)
    assert (await dispatch_sms(aliyun.settings, aliyun.provider)).handled == 0  # the lease still holds

    await SmsMessage.filter(id=claimed.id).update(locked_until=utcnow() - timedelta(seconds=1))
    report = await dispatch_sms(aliyun.settings, aliyun.provider)

    assert report.sent == 1
    row = await SmsMessage.get(id=claimed.id)
    assert (row.status, row.attempts) == (SmsStatus.SENT, 2)
    assert aliyun.ledger.texts_by_key() == {claimed.idempotency_key: 1}


async def test_a_login_code_is_redacted_from_the_outbox_once_sent(aliyun: AliyunSandbox) -> None:
    await verification_codes.issue(
        "13800002222",
        secret="s",
        minutes=5,
        max_attempts=5,
        locale="zh",
        tz=aliyun.settings.tz,
        account_id=None,
    )
    await dispatch_sms(aliyun.settings, aliyun.provider)

    row = await SmsMessage.get(phone="13800002222")
    [text] = aliyun.ledger.texts
    assert isinstance(text.params, dict)
    assert len(text.params["code"]) == 6
    assert (row.status, row.body, row.params) == (SmsStatus.SENT, "[redacted after sending]", {})
