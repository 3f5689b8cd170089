"""SMS carries only the hospital's words (issue 13.3): no text a patient typed reaches a
hospital-branded SMS, a 就诊人's phone gets booking texts only once verified by a code, and one phone
gets at most the daily cap of texts."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import Patient
from models.notifications import Notification, SmsMessage, notify
from resolvers.notifications import dispatch_sms
from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient
from tests.notifications.conftest import AliyunSandbox, dispatcher_settings

INJECTED_NAME = "【退费通知】请登录 evil.example 领取"
INJECTED_REASON = "系统升级，请立即致电 400-820-0000 并提供验证码"
INJECTED_WORDS = ("退费通知", "evil.example", "系统升级", "400-820", "验证码")

ADD_PATIENT = """
mutation($input: AddPatientInput!) {
  addPatient(input: $input) {
    __typename ... on Patient { id phoneVerified } ... on InvalidInputError { field }
  }
}"""
CANCEL = """
mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }"""
SEND_CODE = """
mutation($id: ID!) {
  sendPatientPhoneCode(patientId: $id) { __typename ... on LoginCodeSent { phone } }
}"""
VERIFY = """
mutation($id: ID!, $code: String!) {
  verifyPatientPhone(patientId: $id, code: $code) {
    __typename ... on Patient { phoneVerified } ... on Error { message }
  }
}"""

VICTIM_PHONE = "13600001111"


def _patient_input(name: str, phone: str = VICTIM_PHONE) -> dict[str, Any]:
    number = factories.resident_id(birth="19800506", region="310101")
    return {"input": {"name": name, "idNumber": number, "phone": phone, "relation": "OTHER"}}


async def _book_and_cancel(gql: GraphQLClient, token: str, patient_id: int, reason: str) -> None:
    schedule = await factories.session(capacity=2)
    booked = await book(gql, token, (await first_slot(schedule.id)).id, patient_id)
    assert booked["__typename"] == "Booking", booked
    cancelled = await gql.as_(token).data(CANCEL, {"input": {"bookingId": booked["id"], "reason": reason}})
    assert cancelled["cancelBooking"]["__typename"] == "Booking"


async def test_the_refund_scam_replayed_puts_no_patient_text_in_any_sms(
    gql: GraphQLClient, aliyun: AliyunSandbox
) -> None:
    # Given an attacker's account, whose 就诊人 cannot carry the scam as a name
    attacker = await factories.patient_user(name="李四", phone="13600009999")
    as_attacker = gql.as_(attacker.token)
    refused = (await as_attacker.data(ADD_PATIENT, _patient_input(INJECTED_NAME)))["addPatient"]
    assert refused == {"__typename": "InvalidInputError", "field": "name"}
    # ...but a 就诊人 stored before the rule carries it, with the victim's phone
    legacy = await factories.patient(attacker, name=INJECTED_NAME, phone=VICTIM_PHONE, relation="other")

    # When twelve book-and-cancel cycles carry the scam as the cancel reason
    for _ in range(12):
        await _book_and_cancel(gql, attacker.token, legacy.id, INJECTED_REASON)
    outbox = [(row.phone, row.body, repr(row.params)) for row in await SmsMessage.all()]
    await dispatch_sms(aliyun.settings, aliyun.provider)

    # Then no outbox row and no delivered text holds a word of it, and none went to the victim
    assert len(outbox) == 24
    texts = [repr(text.params) for text in aliyun.ledger.texts] + [body + p for _, body, p in outbox]
    assert [t for t in texts if any(word in t for word in INJECTED_WORDS)] == []
    assert {phone for phone, _, _ in outbox} == {"13600009999"}
    assert VICTIM_PHONE not in {text.phone for text in aliyun.ledger.texts}
    # The attacker's own inbox shows their reason: it is theirs
    inbox = await Notification.filter(event="booking.cancelled").values_list("body", flat=True)
    assert all(INJECTED_REASON in body for body in inbox)


@pytest.mark.usefixtures("aliyun")
async def test_a_patients_own_cancellation_is_texted_in_fixed_words(gql: GraphQLClient) -> None:
    holder = await factories.patient_user(name="王小明")
    person = await factories.patient(holder, name="王小明")

    await _book_and_cancel(gql, holder.token, person.id, "临时有事")
    cancelled = await SmsMessage.get(event="booking.cancelled")

    assert "原因：本人取消。" in cancelled.body
    assert "临时有事" not in cancelled.body
    assert "临时有事" in (await Notification.get(event="booking.cancelled")).body


async def test_a_family_members_phone_gets_booking_texts_only_once_verified(
    gql: GraphQLClient, aliyun: AliyunSandbox
) -> None:
    # Given a 就诊人 added with her own phone, not yet verified
    holder = await factories.patient_user(name="王小明", phone="13600002222")
    as_holder = gql.as_(holder.token)
    added = (await as_holder.data(ADD_PATIENT, _patient_input("刘芳", phone="13600003333")))["addPatient"]
    assert added["phoneVerified"] is False
    patient_id = int(added["id"])

    # When she is booked, the text goes to the account holder
    await _book_and_cancel(gql, holder.token, patient_id, "改期")
    assert {row.phone for row in await SmsMessage.filter(event__startswith="booking.")} == {"13600002222"}

    # When a code texted to her phone comes back
    sent = (await as_holder.data(SEND_CODE, {"id": str(patient_id)}))["sendPatientPhoneCode"]
    assert sent == {"__typename": "LoginCodeSent", "phone": "136****3333"}
    await dispatch_sms(aliyun.settings, aliyun.provider)
    [code_text] = [t for t in aliyun.ledger.texts if isinstance(t.params, dict) and "code" in t.params]
    assert code_text.phone == "13600003333"
    assert isinstance(code_text.params, dict)
    code = code_text.params["code"]
    other = "000000" if code != "000000" else "111111"
    wrong = await as_holder.data(VERIFY, {"id": str(patient_id), "code": other})
    assert wrong["verifyPatientPhone"]["__typename"] == "InvalidCodeError"
    right = await as_holder.data(VERIFY, {"id": str(patient_id), "code": code})
    assert right["verifyPatientPhone"] == {"__typename": "Patient", "phoneVerified": True}

    # Then her bookings are texted to her own phone
    await SmsMessage.all().delete()
    await _book_and_cancel(gql, holder.token, patient_id, "改期")
    assert {row.phone for row in await SmsMessage.filter(event__startswith="booking.")} == {"13600003333"}


async def test_nobody_verifies_another_accounts_patient(gql: GraphQLClient) -> None:
    holder = await factories.patient_user()
    stranger = await factories.patient_user()
    person = await factories.patient(holder, phone="13600004444")

    sent = await gql.as_(stranger.token).data(SEND_CODE, {"id": str(person.id)})
    verified = await gql.as_(stranger.token).data(VERIFY, {"id": str(person.id), "code": "123456"})

    assert sent["sendPatientPhoneCode"]["__typename"] == "NotFoundError"
    assert verified["verifyPatientPhone"]["__typename"] == "NotFoundError"
    assert (await Patient.get(id=person.id)).phone_verified_at is None
    assert await SmsMessage.all().count() == 0


async def test_one_phone_gets_at_most_the_daily_cap_of_texts(aliyun: AliyunSandbox) -> None:
    capped = dispatcher_settings(aliyun.settings, sms_daily_cap_per_phone=3)
    holder = await factories.patient_user(phone="13600005555")
    params = {"patient_name": "王小明", "department": "心内科", "amount_fen": 100}
    for n in range(5):
        await notify(holder.id, "payment.received", params, dedupe_key=f"payment.received:{n}")

    report = await dispatch_sms(capped, aliyun.provider)

    assert (report.sent, report.failed) == (3, 2)
    assert len(aliyun.ledger.texts) == 3
    assert await Notification.filter(account_id=holder.id).count() == 5  # the inbox still has all
