"""At rest: a login code exists only as a keyed hash, and every SMS text is erased once dispatched
(in every table, and on SQLite in the database file and its write-ahead log)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tortoise import Tortoise, connections

from models.notifications import REDACTED, Notification, SmsMessage, SmsStatus, notify
from resolvers.notifications import dispatch_sms
from tests import factories
from tests.conftest import DATABASE_URL
from tests.fixtures.api import GraphQLClient
from tests.notifications.conftest import AliyunSandbox

SEND = "mutation($phone: String!) { sendLoginCode(phone: $phone) { __typename } }"


async def every_stored_value() -> str:
    """Every row of every table as text: what anyone with a dump of the database would read."""
    conn = connections.get("default")
    dumped: list[str] = []
    for app in Tortoise.apps.values():
        for model in app.values():
            table = model._meta.db_table
            quote = "`" if conn.capabilities.dialect == "mysql" else '"'
            rows = await conn.execute_query_dict(f"SELECT * FROM {quote}{table}{quote}")
            dumped.extend(repr(row) for row in rows)
    return "\n".join(dumped)


def database_files() -> bytes:
    """The SQLite file and its WAL (empty on PostgreSQL and MariaDB, whose files are elsewhere)."""
    if not DATABASE_URL.startswith("sqlite"):
        return b""
    path = Path(DATABASE_URL.split("://", 1)[1])
    # Read by a child process: closing any descriptor of the file in this process would drop every
    # POSIX lock SQLite holds on it, and the next server process to close would take itself for the
    # last user and delete the WAL this process still writes to (its rows then vanish for others).
    files = [str(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
    return subprocess.run(["cat", *files], capture_output=True, check=True).stdout


async def test_a_sent_login_code_is_nowhere_in_the_database_or_its_files(
    gql: GraphQLClient, aliyun: AliyunSandbox
) -> None:
    # Given a code texted to a phone
    assert (await gql.data(SEND, {"phone": "13800003333"}))["sendLoginCode"]["__typename"] == "LoginCodeSent"

    # When the dispatcher has handed it to the provider
    assert (await dispatch_sms(aliyun.settings, aliyun.provider)).sent == 1

    # Then the provider got it, and neither the tables nor the files hold it
    [text] = aliyun.ledger.texts
    assert isinstance(text.params, dict)
    code = text.params["code"]
    assert len(code) == 6
    assert code not in await every_stored_value()
    assert code.encode() not in database_files()


async def test_every_sms_text_is_erased_once_sent_and_the_inbox_keeps_its_copy(
    aliyun: AliyunSandbox,
) -> None:
    patient = await factories.patient_user(phone="13800004444")
    params = {"patient_name": "王小明", "department": "心内科", "amount_fen": 2550}
    await notify(patient.id, "payment.received", params, dedupe_key="payment.received:9")
    pending = await SmsMessage.get(dedupe_key="payment.received:9")
    assert pending.body == "王小明，您的心内科挂号费25.50元已支付成功。"

    await dispatch_sms(aliyun.settings, aliyun.provider)

    sent = await SmsMessage.get(dedupe_key="payment.received:9")
    assert (sent.status, sent.body, sent.params) == (SmsStatus.SENT, REDACTED, {})
    assert (await Notification.get(dedupe_key="payment.received:9")).body == pending.body


async def test_a_text_given_up_on_is_erased_too(aliyun: AliyunSandbox) -> None:
    patient = await factories.patient_user(phone="13800005555")
    params = {"patient_name": "王小明", "department": "心内科", "amount_fen": 2550}
    await notify(patient.id, "payment.received", params, dedupe_key="payment.received:10")
    aliyun.ledger.fail_next("isv.MOBILE_NUMBER_ILLEGAL")  # permanent: never retried

    await dispatch_sms(aliyun.settings, aliyun.provider)

    failed = await SmsMessage.get(dedupe_key="payment.received:10")
    assert (failed.status, failed.body, failed.params) == (SmsStatus.FAILED, REDACTED, {})
