from __future__ import annotations

import logging
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

log = logging.getLogger("gualema.settings")

DEVELOPMENT_SECRET = "gualema-development-secret-do-not-use-in-production"  # noqa: S105

CommaList = Annotated[list[str], NoDecode]


class SettingsError(Exception):
    """Raised at start when a setting is invalid; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUALEMA_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"

    # -- persistence and broker
    database_url: str = "sqlite://gualema.sqlite3"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    redis_url: str | None = None
    redis_prefix: str = "gualema"

    # -- security
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    # "kid:base64-32-byte-key,kid2:..." — the first key encrypts, all keys decrypt (rotation).
    encryption_keys: SecretStr | None = None
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    display_token_days: int = Field(default=180, ge=1, le=3650)
    cors_origins: CommaList = []
    ws_allowed_origins: CommaList = []
    audit_retention_days: int = Field(default=183, ge=1)

    # -- time
    timezone: str = "Asia/Shanghai"

    # -- GraphQL surface
    max_query_depth: int = Field(default=12, ge=2)
    max_query_tokens: int = Field(default=2000, ge=50)
    max_query_aliases: int = Field(default=15, ge=1)
    max_query_cost: int = Field(default=5000, ge=10)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    introspection: bool | None = None  # None: on except in production
    graphiql: bool | None = None  # None: on except in production
    legacy_graphql_ws: bool = False
    document_cache_size: int = Field(default=1024, ge=16)

    # -- accounts
    max_patients_per_account: int = Field(default=6, ge=1, le=50)

    # -- booking (issue 3)
    hold_minutes: int = Field(default=15, ge=1)
    cancel_cutoff_minutes: int = Field(default=120, ge=0)
    release_days_ahead: int = Field(default=7, ge=0)
    release_hour: int = Field(default=8, ge=0, le=23)
    max_bookings_per_account_per_day: int = Field(default=3, ge=1)
    no_show_threshold: int = Field(default=3, ge=1)
    no_show_window_days: int = Field(default=90, ge=1)
    no_show_block_days: int = Field(default=90, ge=1)

    # -- background work
    worker_interval_seconds: float = Field(default=1.0, gt=0)
    run_workers: bool = True

    @field_validator("cors_origins", "ws_allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg", "mysql"}:
            raise ValueError(f"unsupported database scheme {scheme!r} (sqlite, postgres, mysql)")
        return value

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
            raise ValueError("GUALEMA_SECRET_KEY must be set in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def uses_development_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEVELOPMENT_SECRET


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"GUALEMA_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
    if settings.uses_development_secret:
        log.warning(
            "!!! GUALEMA_SECRET_KEY is the development default: tokens and encrypted ID numbers "
            "are NOT protected. Set GUALEMA_SECRET_KEY before real use. !!!"
        )
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
