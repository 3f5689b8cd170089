"""Payment notification handling: N paid bookings, each notification delivered R times at once.

    .venv/bin/python bench/payment_notifications.py                 # SQLite in a temp dir, 200 x 5
    .venv/bin/python bench/payment_notifications.py --bookings 500 --repeats 15 \
        --database-url postgres://postgres@127.0.0.1:5432/gualema_bench

Sandbox-signed notifications go through the ASGI app in this process (verify, conditional order
update, booking confirmation, outbox message in one transaction); up to --concurrency are in flight.
Printed: deliveries per second, delivery latency p50/p99, the number of confirmations (must equal
--bookings: duplicates change nothing) and peak RSS. The machine is a shared 2-core one: quote the
figures as provisional.
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

import httpx

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from gualema.app import create_app
from gualema.database import close_database, migrate, open_database
from gualema.settings import get_settings
from integrations.payments.sandbox import Sandbox
from models.booking import BookingEvent, BookingStatus
from models.payments import PaymentProvider
from realtime.broker import create_broker, set_broker
from resolvers import payments as use_cases
from resolvers.context import Context, Viewer
from tests import factories


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    os.environ["GUALEMA_DATABASE_URL"] = args.database_url
    os.environ.setdefault("GUALEMA_SECRET_KEY", "bench-secret-key-0123456789abcdef")
    os.environ["GUALEMA_RUN_WORKERS"] = "false"

    settings = get_settings()
    await migrate(settings)
    await open_database(settings)
    broker = create_broker(None, "bench")
    await broker.start()
    set_broker(broker)
    sandbox = Sandbox(settings.secret_key.get_secret_value(), settings.public_base_url, settings.tz)
    try:
        deliveries: list[tuple[dict[str, str], bytes]] = []
        for _ in range(args.bookings):
            held = await factories.held_booking(fee=1500)
            context = Context(None, None, settings, Viewer(account_id=held.owner.id, role="patient"))
            started = await use_cases.pay_booking(context, held.booking.id, PaymentProvider.SANDBOX)
            settled = await sandbox.settle(started.order.out_trade_no, paid=True)
            assert settled is not None
            deliveries.extend([settled] * args.repeats)
        app = create_app(settings, manage_database=False)
        limit = asyncio.Semaphore(args.concurrency)
        latencies: list[float] = []
        statuses: list[int] = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def deliver(headers: dict[str, str], body: bytes) -> None:
                async with limit:
                    begun = time.perf_counter()
                    reply = await http.post("/payments/notify/sandbox", content=body, headers=headers)
                    latencies.append((time.perf_counter() - begun) * 1000)
                    statuses.append(reply.status_code)

            begun = time.perf_counter()
            await asyncio.gather(*(deliver(h, b) for h, b in deliveries))
            elapsed = time.perf_counter() - begun
        confirmations = await BookingEvent.filter(to_status=BookingStatus.CONFIRMED).count()
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"backend              {args.database_url.split('://')[0]}")
        print(
            f"deliveries           {len(deliveries)} ({args.bookings} bookings x {args.repeats}), "
            f"{statuses.count(200)} answered success"
        )
        print(f"confirmations        {confirmations} (expected {args.bookings})")
        print(
            f"throughput           {len(deliveries) / elapsed:.0f} deliveries/s "
            f"(concurrency {args.concurrency})"
        )
        print(
            f"latency p50/p99      {statistics.median(latencies):.1f} / {percentile(latencies, 0.99):.1f} ms"
        )
        print(f"peak RSS             {peak_mib:.0f} MiB")
    finally:
        await broker.stop()
        await close_database()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--database-url", default=f"sqlite://{tempfile.mkdtemp(prefix='gualema-bench-')}/b.sqlite3"
    )
    asyncio.run(main(parser.parse_args()))
