"""`python -m gualema <command>`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn

from gualema.database import migrate, run_with_database
from gualema.demo_hospital import create_admin, seed_demo
from gualema.logging_config import configure_logging, logging_config
from gualema.payments_cli import add_payments_commands
from gualema.settings import Settings, SettingsError, get_settings, reset_settings
from gualema.websocket_protocol import LeanWebSocketProtocol
from models.personal_data import rotate_keys
from schema.root import printed_schema

log = logging.getLogger("gualema")

REPOSITORY = Path(__file__).resolve().parent.parent


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options that come from settings (docs/decisions/110 and 111)."""
    return {
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "limit_concurrency": settings.http_limit_concurrency,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.http_max_incomplete_event_bytes,
    }


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.demo:
        cmd_migrate(args, settings)
        run_with_database(settings, seed_demo)
    if "GUALEMA_PUBLIC_BASE_URL" not in os.environ and "public_base_url" not in settings.model_fields_set:
        # Links the server hands out (sandbox pay page, QR markers) point at where it actually listens;
        # behind a proxy, set GUALEMA_PUBLIC_BASE_URL. Worker processes read it from the environment.
        host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # noqa: S104 - compared, not bound
        os.environ["GUALEMA_PUBLIC_BASE_URL"] = f"http://{host}:{args.port}"
        reset_settings()
    print(f"Gualema on http://{args.host}:{args.port}/graphql", file=sys.stderr)
    uvicorn.run(
        "gualema.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop=args.loop,
        ws_per_message_deflate=False,  # ~45 KiB per idle socket instead of ~85 KiB
        ws=LeanWebSocketProtocol,  # less kept per idle socket (decision 272)
        **server_options(settings),
        log_level=settings.log_level.lower(),  # GUALEMA_LOG_LEVEL, also for uvicorn's own loggers
        access_log=not settings.is_production,
        log_config=logging_config(settings),  # issue 19: JSON lines, request ids, masking
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    return 0


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(migrate(settings))
    print("migrations applied", file=sys.stderr)
    return 0


def cmd_seed_demo(_args: argparse.Namespace, settings: Settings) -> int:
    return run_with_database(settings, seed_demo)


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        return await create_admin(args.phone, args.password, args.name)

    return run_with_database(settings, work)


def cmd_rotate_keys(args: argparse.Namespace, settings: Settings) -> int:
    # Re-encrypts personal data made with any key but the first of GUALEMA_ENCRYPTION_KEYS.
    async def work() -> int:
        report = await rotate_keys(batch_size=args.batch_size)
        for column, count in report.per_column.items():
            print(f"{column}: {count} row(s) re-encrypted", file=sys.stderr)
        if report.unreadable:
            print(f"{report.unreadable} row(s) could not be decrypted with any key", file=sys.stderr)
            return 1
        return 0

    return run_with_database(settings, work)


def cmd_export_schema(args: argparse.Namespace, _settings: Settings) -> int:
    text = printed_schema()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gualema", description="Gualema (挂了吗) backend")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (applies migrations on SQLite)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="asyncio")
    serve.add_argument("--demo", action="store_true", help="migrate and load the demo hospital first")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply pending migrations").set_defaults(run=cmd_migrate)
    commands.add_parser("seed-demo", help="load the demo hospital (idempotent)").set_defaults(
        run=cmd_seed_demo
    )

    admin = commands.add_parser("create-admin", help="create (or promote) an administrator")
    admin.add_argument("--phone", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", default="管理员")
    admin.set_defaults(run=cmd_create_admin)

    rotate = commands.add_parser("rotate-keys", help="re-encrypt personal data with the current key")
    rotate.add_argument("--batch-size", type=int, default=500)
    rotate.set_defaults(run=cmd_rotate_keys)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", default=str(REPOSITORY / "schema.graphql"))
    export.set_defaults(run=cmd_export_schema)

    add_payments_commands(commands)  # issue 4: `payments reconcile --date YYYY-MM-DD`
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"gualema: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings)
    raise SystemExit(args.run(args, settings))
