from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as run_migrations

from gualema.domain_policies import install as install_domain_policies
from gualema.settings import Settings, get_settings
from models import MODEL_MODULES

# Tables an integration keeps for itself, in the same tortoise app (and migrations) as the domain's:
# the sandbox provider's ledger (docs/decisions/131).
INTEGRATION_MODEL_MODULES: list[str] = ["integrations.payments.sandbox.ledger"]


def connection_config(url: str, pool_size: int) -> dict[str, Any]:
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        # WAL lets readers proceed while the single writer commits. secure_delete overwrites deleted
        # rows (erased SMS text, spent codes) instead of leaving them readable in free pages; tortoise
        # runs every extra credential as a PRAGMA on each connection it opens.
        return {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": rest or "gualema.sqlite3",
                "journal_mode": "WAL",
                "secure_delete": "ON",
            },
        }
    if scheme in {"postgres", "asyncpg", "psycopg"}:
        creds = _credentials(rest, pool_size, 5432)
        creds["reset"] = _keep_session
        return {"engine": "tortoise.backends.asyncpg", "credentials": creds}
    if scheme == "mysql":
        creds = _credentials(rest, pool_size, 3306)
        creds["charset"] = "utf8mb4"
        return {"engine": "tortoise.backends.mysql", "credentials": creds}
    raise ValueError(f"unsupported database url {url!r}")


async def _keep_session(_connection: object) -> None:
    """asyncpg's default pool reset runs `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    on every release: one round trip per connection use, a fifth of the booking hot path. We never
    use advisory locks, cursors, LISTEN or SET, and asyncpg still rolls back an open transaction
    before calling this, so there is nothing to reset."""
    return None


def _credentials(rest: str, pool_size: int, default_port: int) -> dict[str, Any]:
    parts = urlsplit("//" + rest)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or default_port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/") or "gualema",
        "minsize": 1,
        "maxsize": pool_size,
    }


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(settings.database_url, settings.db_pool_size)},
        "apps": {
            "models": {
                "models": [*MODEL_MODULES, *INTEGRATION_MODEL_MODULES],
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def __getattr__(name: str) -> Any:
    """`TORTOISE_ORM`, which the `tortoise` command line reads: settings are resolved when it asks, not
    when this module is imported (an import must not freeze the environment of that moment)."""
    if name == "TORTOISE_ORM":
        return tortoise_config(get_settings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def dialect(settings: Settings | None = None) -> str:
    url = (settings or get_settings()).database_url
    scheme = url.split("://", 1)[0]
    return {"asyncpg": "postgres", "psycopg": "postgres"}.get(scheme, scheme)


async def open_database(settings: Settings) -> None:
    # Every process that opens the database runs the domain, which needs its policies installed.
    install_domain_policies(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


def run_with_database(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    """Runs one command's work with the database open, for the synchronous CLI commands."""

    async def run() -> int:
        await open_database(settings)
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(run())


async def migrate(settings: Settings) -> None:
    try:
        await run_migrations(config=tortoise_config(settings))
    finally:
        # The migration's own connections must not outlive it: an open aiosqlite thread would keep
        # `python -m gualema migrate` from ever exiting.
        await Tortoise.close_connections()
