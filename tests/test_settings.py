"""Every setting is validated at start, and a bad one stops the server with a message naming it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gualema.settings import DEVELOPMENT_SECRET, Settings, SettingsError, load_settings
from tests.fixtures.api import REPOSITORY


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Only the defaults: no GUALEMA_* from the harness and no .env (the working directory is empty)."""
    for name in list(os.environ):
        if name.startswith("GUALEMA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def problems(environment: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        environment.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    return str(refused.value)


@pytest.mark.usefixtures("environment")
def test_the_defaults_run_an_embedded_development_server() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite://gualema.sqlite3"
    assert settings.redis_url is None
    assert settings.timezone == "Asia/Shanghai"
    assert settings.graphiql_enabled
    assert settings.introspection_enabled
    assert (settings.max_query_depth, settings.max_query_tokens, settings.max_query_aliases) == (12, 2000, 15)
    assert (settings.max_query_cost, settings.max_body_bytes) == (25_000, 256 * 1024)
    assert settings.legacy_graphql_ws is False


@pytest.mark.usefixtures("environment")
def test_the_development_secret_logs_a_loud_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gualema.settings"):
        settings = load_settings()
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET
    assert any("GUALEMA_SECRET_KEY is the development default" in r.getMessage() for r in caplog.records)


def test_production_refuses_the_development_secret_and_short_secrets(environment: pytest.MonkeyPatch) -> None:
    assert problems(environment, GUALEMA_ENV="production") == (
        "invalid settings: GUALEMA_SECRET_KEY: must be set in production (the development default is public)"
    )
    assert problems(environment, GUALEMA_SECRET_KEY="short") == (
        "invalid settings: GUALEMA_SECRET_KEY: must have at least 32 characters in production"
    )


def test_production_hides_graphiql_and_introspection_unless_asked(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("GUALEMA_ENV", "production")
    environment.setenv("GUALEMA_SECRET_KEY", "s" * 40)
    assert not load_settings().graphiql_enabled
    assert not load_settings().introspection_enabled
    environment.setenv("GUALEMA_INTROSPECTION", "true")
    assert load_settings().introspection_enabled


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GUALEMA_DB_POOL_SIZE", "abc", "GUALEMA_DB_POOL_SIZE: Input should be a valid integer"),
        ("GUALEMA_DB_POOL_SIZE", "0", "GUALEMA_DB_POOL_SIZE: Input should be greater than or equal to 1"),
        ("GUALEMA_ENV", "staging", "GUALEMA_ENV: Input should be 'development', 'test' or 'production'"),
        ("GUALEMA_DATABASE_URL", "oracle://x", "GUALEMA_DATABASE_URL: unsupported database scheme 'oracle'"),
        ("GUALEMA_REDIS_URL", "http://x", "GUALEMA_REDIS_URL: must be a redis://, rediss:// or unix:// URL"),
        ("GUALEMA_REDIS_PREFIX", "has space", "GUALEMA_REDIS_PREFIX: must be 1-64 letters"),
        ("GUALEMA_TIMEZONE", "Mars/Olympus", "GUALEMA_TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ("GUALEMA_CORS_ORIGINS", "https://ok.example,admin.example", "GUALEMA_CORS_ORIGINS: 'admin.example'"),
        ("GUALEMA_WS_ALLOWED_ORIGINS", "https://a.example/path", "GUALEMA_WS_ALLOWED_ORIGINS: 'https://a"),
        (
            "GUALEMA_MAX_QUERY_DEPTH",
            "1",
            "GUALEMA_MAX_QUERY_DEPTH: Input should be greater than or equal to 2",
        ),
        ("GUALEMA_MAX_QUERY_TOKENS", "ten", "GUALEMA_MAX_QUERY_TOKENS: Input should be a valid integer"),
        (
            "GUALEMA_MAX_QUERY_COST",
            "-5",
            "GUALEMA_MAX_QUERY_COST: Input should be greater than or equal to 10",
        ),
        (
            "GUALEMA_MAX_BODY_BYTES",
            "10",
            "GUALEMA_MAX_BODY_BYTES: Input should be greater than or equal to 1024",
        ),
        ("GUALEMA_INTROSPECTION", "maybe", "GUALEMA_INTROSPECTION: Input should be a valid boolean"),
        (
            "GUALEMA_LEGACY_GRAPHQL_WS",
            "perhaps",
            "GUALEMA_LEGACY_GRAPHQL_WS: Input should be a valid boolean",
        ),
        ("GUALEMA_ACCESS_TOKEN_MINUTES", "0", "GUALEMA_ACCESS_TOKEN_MINUTES: Input should be greater than"),
        ("GUALEMA_DOCUMENT_CACHE_SIZE", "1", "GUALEMA_DOCUMENT_CACHE_SIZE: Input should be greater than"),
        (
            "GUALEMA_READINESS_TIMEOUT_SECONDS",
            "0",
            "GUALEMA_READINESS_TIMEOUT_SECONDS: Input should be greater",
        ),
        (
            "GUALEMA_PUBLIC_BASE_URL",
            "gualema.example.org",
            "GUALEMA_PUBLIC_BASE_URL: must be an http:// or https",
        ),
    ],
)
def test_an_invalid_setting_is_refused_with_its_name(
    environment: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    assert message in problems(environment, **{name: value})


def test_every_problem_is_listed_at_once(environment: pytest.MonkeyPatch) -> None:
    listed = problems(environment, GUALEMA_DB_POOL_SIZE="abc", GUALEMA_TIMEZONE="Nowhere/Else")
    assert "GUALEMA_DB_POOL_SIZE" in listed
    assert "GUALEMA_TIMEZONE" in listed


def test_a_url_with_a_password_is_never_echoed(environment: pytest.MonkeyPatch) -> None:
    listed = problems(environment, GUALEMA_DATABASE_URL="oracle://scott:tiger@db/x")
    assert "tiger" not in listed


def test_a_misspelt_variable_is_warned_about(
    environment: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    environment.setenv("GUALEMA_DATABSE_URL", "postgres://x/y")
    environment.setenv("GUALEMA_TEST_DATABASE_URL", "postgres://x/y")  # the harness's own, not ours
    with caplog.at_level(logging.WARNING, logger="gualema.settings"):
        load_settings()
    assert "ignoring unknown settings (typo?): GUALEMA_DATABSE_URL" in caplog.text


def test_comma_separated_origins_become_a_list(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("GUALEMA_CORS_ORIGINS", "https://admin.example.org, http://127.0.0.1:5173")
    assert load_settings().cors_origins == ["https://admin.example.org", "http://127.0.0.1:5173"]


@pytest.mark.usefixtures("environment")
def test_settings_are_read_from_a_dotenv_file_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GUALEMA_MAX_QUERY_DEPTH=7\n", encoding="utf-8")
    assert Settings().max_query_depth == 7


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"GUALEMA_DB_POOL_SIZE": "abc"}, "GUALEMA_DB_POOL_SIZE"),
        ({"GUALEMA_ENV": "production", "GUALEMA_SECRET_KEY": DEVELOPMENT_SECRET}, "GUALEMA_SECRET_KEY"),
    ],
    ids=["not a number", "production with the development secret"],
)
def test_serve_exits_non_zero_naming_the_setting(variables: dict[str, str], named: str) -> None:
    env = {**os.environ, **variables}
    finished = subprocess.run(
        [sys.executable, "-m", "gualema", "serve", "--port", "1"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert f"gualema: invalid settings: {named}:" in finished.stderr
    assert "Traceback" not in finished.stderr
