"""Test harness.

The backend under test comes from the environment, so the same suite runs on every backend:
  GUALEMA_TEST_DATABASE_URL  sqlite (default, a temporary file), postgres://…, mysql://…
  GUALEMA_TEST_REDIS_URL     unset: in-process broker; redis://… : Redis
Each run creates its own database (and Redis key prefix) and drops it at the end, so runs on one
machine never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest

RUN_ID = f"t{os.getpid()}_{secrets.token_hex(3)}"
BASE_DATABASE_URL = os.environ.get("GUALEMA_TEST_DATABASE_URL", "sqlite")
REDIS_URL = os.environ.get("GUALEMA_TEST_REDIS_URL") or None
_TMP = Path(tempfile.mkdtemp(prefix="gualema-test-"))


def _database_url() -> str:
    if BASE_DATABASE_URL.startswith("sqlite"):
        return f"sqlite://{_TMP / 'test.sqlite3'}"
    scheme, _, rest = BASE_DATABASE_URL.partition("://")
    server = rest.rsplit("/", 1)[0]
    return f"{scheme}://{server}/gualema_{RUN_ID}"


DATABASE_URL = _database_url()

# Settings are read from the environment, here and in server processes the tests start.
os.environ.update(
    {
        "GUALEMA_ENV": "test",
        "GUALEMA_DATABASE_URL": DATABASE_URL,
        "GUALEMA_REDIS_PREFIX": f"gualema-{RUN_ID}",
        "GUALEMA_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "GUALEMA_RUN_WORKERS": "false",
        "GUALEMA_DB_POOL_SIZE": "20",
        # Tests write rows behind the servers' back (factories): browse-cache tests turn it on.
        "GUALEMA_BROWSE_CACHE_MAX_AGE_SECONDS": "0",
    }
)
if REDIS_URL:
    os.environ["GUALEMA_REDIS_URL"] = REDIS_URL
else:
    os.environ.pop("GUALEMA_REDIS_URL", None)

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.api", "tests.fixtures.wechat"]


@pytest.fixture(scope="session")
def tmp_root() -> Path:
    return _TMP


def pytest_report_header() -> list[str]:
    return [
        f"gualema database: {DATABASE_URL.split('@')[-1]}",
        f"gualema broker: {REDIS_URL or 'in-process'}",
    ]
