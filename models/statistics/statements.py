"""Raw statements of the statistics reads, written once for the three dialects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tortoise import connections


def dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


def placeholders(dialect_name: str, text: str) -> str:
    """`?` marks as the dialect writes them ($1… on PostgreSQL, %s on MariaDB)."""
    if dialect_name == "postgres":
        parts = text.split("?")
        return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))
    return text if dialect_name == "sqlite" else text.replace("?", "%s")


def day_value(dialect_name: str, value: date) -> Any:
    return value.isoformat() if dialect_name == "sqlite" else value


def moment_value(dialect_name: str, moment: datetime) -> Any:
    if dialect_name == "mysql":
        return moment.astimezone(UTC).replace(tzinfo=None)
    if dialect_name == "sqlite":
        return moment.astimezone(UTC).isoformat(sep=" ")
    return moment


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def rows(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    # Every caller builds `sql` from fixed names of the statistics modules; the values are bound.
    client = connections.get("default")
    return await client.execute_query_dict(placeholders(client.capabilities.dialect, sql), values)


async def execute(sql: str, values: list[Any]) -> None:
    client = connections.get("default")
    await client.execute_query(placeholders(client.capabilities.dialect, sql), values)


# The first day of the month of the date column `day`.
MONTH_START = {
    "sqlite": "date(day, 'start of month')",
    "postgres": "CAST(date_trunc('month', day) AS date)",
    "mysql": "DATE_SUB(day, INTERVAL DAYOFMONTH(day) - 1 DAY)",
}
