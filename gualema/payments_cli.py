"""`python -m gualema payments reconcile --date YYYY-MM-DD`: our orders and refunds against each
configured provider's bill for that day; prints every mismatch, exit status 1 when there is any."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from gualema.database import run_with_database
from gualema.settings import Settings
from integrations.payments.interface import ProviderError
from resolvers.payments import reconcile


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        try:
            mismatches = await reconcile(settings, args.date, args.provider or None)
        except ProviderError as exc:
            print(f"cannot fetch a bill: {exc}", file=sys.stderr)
            return 2
        for mismatch in mismatches:
            print(mismatch)
        print(f"{len(mismatches)} mismatch(es) on {args.date}", file=sys.stderr)
        return 1 if mismatches else 0

    return run_with_database(settings, work)


def add_payments_commands(commands: Any) -> None:
    payments = commands.add_parser("payments", help="payment operations")
    actions = payments.add_subparsers(dest="payments_command", required=True)
    reconcile = actions.add_parser(
        "reconcile", help="compare local orders and refunds with the providers' bills"
    )
    reconcile.add_argument(
        "--date", type=_day, required=True, help="the bill day, YYYY-MM-DD (hospital time)"
    )
    reconcile.add_argument(
        "--provider",
        action="append",
        choices=["sandbox", "wechat_pay", "alipay"],
        help="only this provider (repeatable); default: every configured one",
    )
    reconcile.set_defaults(run=cmd_reconcile)
