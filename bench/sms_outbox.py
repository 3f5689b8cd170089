"""SMS outbox throughput: notify() inside transactions, then one dispatcher against the fake Aliyun server.

    .venv/bin/python bench/sms_outbox.py                       # SQLite in a temporary directory, 2000 texts
    .venv/bin/python bench/sms_outbox.py --messages 5000 --batch 100 \
        --database-url postgres://postgres@127.0.0.1:5432/gualema_bench

Printed: notify() latency p50/p99 (one transaction per call, as a booking would), dispatcher throughput
(texts/s, signed HTTP to the fake on 127.0.0.1 and the status update) and the process's peak RSS.
`--provider console` leaves out HTTP to show the database's share. The fake, the dispatcher and the
database share a busy 2-core machine: quote the figures as provisional.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from tortoise.transactions import in_transaction

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from gualema.database import close_database, migrate, open_database
from gualema.settings import get_settings
from integrations.sms.aliyun.client import AliyunSmsProvider
from integrations.sms.aliyun.fake import FakeAliyunSms
from integrations.sms.console import ConsoleSmsProvider
from integrations.sms.fake_ledger import serving
from integrations.sms.interface import SmsProvider
from models.accounts import Account
from models.message_templates import TEMPLATES
from models.notifications import notify
from resolvers.notifications import dispatch_sms


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    os.environ["GUALEMA_DATABASE_URL"] = args.database_url
    os.environ.setdefault("GUALEMA_SECRET_KEY", "bench-secret-key-0123456789abcdef")

    settings = get_settings()
    await migrate(settings)
    await open_database(settings)
    codes = {event: f"SMS_{n}" for n, event in enumerate(sorted(TEMPLATES), start=100001)}
    fake = FakeAliyunSms({"bench-key": "bench-secret"})
    try:
        account = await Account.create(phone="13800000000", name="王小明", password_hash=None)
        notify_ms: list[float] = []
        for n in range(args.messages):
            started = time.perf_counter()
            async with in_transaction():
                await notify(
                    account.id,
                    "queue.three_ahead",
                    {"patient_name": "王小明", "department": "心内科", "ticket": f"A{n:04d}"},
                    dedupe_key=f"bench:{time.time_ns()}:{n}",
                    phone=f"138{n % 10**8:08d}",
                )
            notify_ms.append((time.perf_counter() - started) * 1000)
        async with serving(fake.app) as url:
            configured = settings.model_copy(
                update={
                    "notification_batch_size": args.batch,
                    "sms_aliyun_access_key_secret": SecretStr("bench-secret"),
                }
            )
            provider: SmsProvider = AliyunSmsProvider(
                endpoint=url,
                access_key_id="bench-key",
                access_key_secret="bench-secret",
                sign_name="挂了吗",
                region="cn-hangzhou",
                template_codes=codes,
                timeout=10,
            )
            if args.provider == "console":  # the database's share of the cost, without HTTP
                await provider.aclose()
                provider = ConsoleSmsProvider()
            started = time.perf_counter()
            sent = 0
            while sent < args.messages:
                report = await dispatch_sms(configured, provider, rounds=1000)
                sent += report.sent
                if report.handled == 0:
                    break
            elapsed = time.perf_counter() - started
            await provider.aclose()
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"backend              {args.database_url.split('://')[0]}")
        print(f"provider             {args.provider} (the fake counted {len(fake.ledger.texts)})")
        print(f"texts                {sent} of {args.messages}")
        print(
            f"notify() p50/p99     {statistics.median(notify_ms):.2f} / {percentile(notify_ms, 0.99):.2f} ms"
        )
        print(f"dispatch throughput  {sent / elapsed:.0f} texts/s (batch {args.batch})")
        print(f"peak RSS             {peak_mib:.0f} MiB")
    finally:
        await close_database()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--provider", choices=["aliyun", "console"], default="aliyun")
    parser.add_argument(
        "--database-url", default=f"sqlite://{tempfile.mkdtemp(prefix='gualema-bench-')}/b.sqlite3"
    )
    asyncio.run(main(parser.parse_args()))
