from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from integrations.payments.alipay.client import AlipayConfig
from integrations.payments.registry import ALIPAY, WECHAT_PAY, PaymentProviders, SandboxConfig, notify_url
from integrations.payments.wechat.client import WeChatPayConfig
from integrations.sms.config import SmsConfig

log = logging.getLogger("gualema.settings")

DEVELOPMENT_SECRET = "gualema-development-secret-do-not-use-in-production"  # noqa: S105

MIN_PRODUCTION_SECRET = 32
ENV_PREFIX = "GUALEMA_"
# Variables read by the test harness and scripts, not by the application.
FOREIGN_VARIABLES = ("GUALEMA_TEST_", "GUALEMA_BACKUP_")

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?")
# URL settings whose empty value means "derive it from public_base_url".
OPTIONAL_URLS = frozenset({"payment_notify_base_url", "navigation_marker_url", "otlp_endpoint"})
_KEY_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

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
    # How stale a process's copy of the revoked access tokens may be: a logout or a disabled account
    # takes effect at once in the process that did it, in the others within this many seconds.
    revocation_refresh_seconds: float = Field(default=2.0, ge=0, le=60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    display_token_days: int = Field(default=180, ge=1, le=3650)
    cors_origins: CommaList = []
    ws_allowed_origins: CommaList = []
    audit_retention_days: int = Field(default=183, ge=1)
    # Peers whose X-Forwarded-For/-Proto uvicorn believes (its `forwarded_allow_ips`): comma-separated
    # addresses or networks, "*" for any. Only the balancer's own address: a client that reaches the
    # API directly must not pick its address for the login and SMS throttles (docs/decisions/110).
    forwarded_allow_ips: str = "127.0.0.1"
    # Where the QR landing page hands a visitor to the mini-program: a URL with `{code}` for the marker
    # code, either the mini-program's URL scheme (weixin://dl/business/?appid=…&path=…&query=code%3D{code})
    # or its URL link (https://wxaurl.cn/…). Empty: the page only says where the visitor stands.
    miniprogram_link: str = ""

    # -- HTTP server limits (uvicorn; docs/decisions/111)
    # Bytes a non-GraphQL POST route (payment notifications, sandbox pay) reads before answering 413.
    max_notification_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    http_limit_concurrency: int | None = Field(default=2000, ge=1)  # connections+tasks, then 503
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=600)  # idle keep-alive connections
    # h11's cap on an incomplete request line + headers: bounds a slow or huge header block.
    http_max_incomplete_event_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)

    # -- time
    timezone: str = "Asia/Shanghai"

    # -- GraphQL surface (defaults: docs/decisions/011-graphql-limits.md)
    max_query_depth: int = Field(default=12, ge=2, le=100)  # fields on the longest path
    max_query_tokens: int = Field(default=2000, ge=50, le=100_000)
    max_query_aliases: int = Field(default=15, ge=0, le=1000)
    max_query_cost: int = Field(default=25_000, ge=10)  # gualema/query_cost.py counts; decision 123 sizes it
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    introspection: bool | None = None  # None: on except in production
    graphiql: bool | None = None  # None: on except in production
    legacy_graphql_ws: bool = False  # the old `graphql-ws` subprotocol (docs/decisions/013)
    ws_connection_init_seconds: float = Field(default=5.0, gt=0, le=60)
    ws_max_subscriptions: int = Field(default=20, ge=1, le=1000)  # per WebSocket connection
    # How often an open WebSocket checks that its token is not revoked (expiry is exact).
    ws_session_check_seconds: float = Field(default=5.0, gt=0, le=300)
    # Board subscriptions served by one shared stream per channel and process, frames written once
    # per change (decision 270); false keeps each subscription on its own strawberry stream.
    ws_shared_fan_out: bool = True
    document_cache_size: int = Field(default=1024, ge=16)  # parsed and validated documents kept
    document_cache_tokens: int = Field(default=200_000, ge=2000)  # ...and their total tokens (memory)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)  # each /readyz probe

    # -- accounts
    max_patients_per_account: int = Field(default=6, ge=1, le=50)
    # Password logins per phone number + client IP within a window (docs/decisions/021-login-throttle.md).
    login_max_attempts: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Failed password logins per client address across every phone in the same window: a ceiling on
    # password spraying (one password against many phones). Successful logins give their count back.
    login_ip_max_failures: int = Field(default=50, ge=1, le=100_000)
    # Registrations per client address and per phone (docs/decisions/171).
    register_ip_limit_per_hour: int = Field(default=10, ge=1)
    register_ip_limit_per_day: int = Field(default=50, ge=1)
    register_phone_limit_per_day: int = Field(default=5, ge=1)
    # Key of the keyed hash stored beside each encrypted ID number (uniqueness and lookup). Unset:
    # derived from GUALEMA_SECRET_KEY. Set it in production so the secret key can change on its own.
    pii_lookup_key: SecretStr | None = None

    # -- booking (issue 3)
    hold_minutes: int = Field(default=15, ge=1)
    cancel_cutoff_minutes: int = Field(default=120, ge=0)
    release_days_ahead: int = Field(default=7, ge=0)
    release_hour: int = Field(default=8, ge=0, le=23)
    max_bookings_per_account_per_day: int = Field(default=3, ge=1)
    # Bookings one server process sends to the database at once; the rest queue in the process, first
    # come, first served. A few suffice: they all want the same hot rows (docs/decisions/099).
    booking_writers: int = Field(default=4, ge=1, le=100)
    # Off only to measure what the statistics rollup costs a booking (bench/kpis.py); figures go stale.
    statistics_rollup: bool = True
    # The big screen (数据大屏): figures computed by one process this often, pushed when they change.
    dashboard_interval_seconds: float = Field(default=5.0, ge=0.5, le=3600)
    no_show_threshold: int = Field(default=3, ge=1)
    no_show_window_days: int = Field(default=90, ge=1)
    no_show_block_days: int = Field(default=90, ge=1)
    hold_sweep_seconds: float = Field(default=5.0, gt=0)  # how often unpaid holds are expired
    no_show_sweep_seconds: float = Field(default=60.0, gt=0)  # how often ended sessions are swept
    # Sessions are kept generated from the weekly templates this many weeks ahead (0: only by hand),
    # checked this often; several processes may run it (each session's template key is unique).
    generate_weeks_ahead: int = Field(default=2, ge=0, le=8)
    # Whether a doctor may stop (停诊) their own session; otherwise an administrator does it.
    doctor_may_stop_own_session: bool = False
    schedule_generation_seconds: float = Field(default=3600.0, gt=0)

    # -- payments (issue 4). SANDBOX is built in and the default; the real providers stay off until
    # their merchant keys are set. Keys are PEM text (or a path to a PEM file).
    payment_default_provider: Literal["sandbox", "wechat_pay", "alipay"] = "sandbox"
    # None: on except in production, where its pay page would hand out seats for free.
    payment_sandbox_enabled: bool | None = None
    # Where providers send notifications and the sandbox page lives: this server's public URL.
    public_base_url: str = "http://127.0.0.1:8000"
    # Where providers POST notifications, when not `public_base_url` (e.g. an internal ingress).
    payment_notify_base_url: str = ""
    payment_notification_window_seconds: int = Field(default=300, ge=30)
    wechat_pay_mchid: str = ""
    wechat_pay_appid: str = ""
    wechat_pay_merchant_serial: str = ""
    wechat_pay_private_key: SecretStr | None = None
    wechat_pay_apiv3_key: SecretStr | None = None
    # {"serial or PUB_KEY_ID_...": "PEM public key"}; several during a platform key rotation.
    wechat_pay_platform_public_keys: dict[str, str] = {}
    wechat_pay_base_url: str = "https://api.mch.weixin.qq.com"
    wechat_pay_min_close_seconds: int = Field(default=300, ge=0)
    alipay_app_id: str = ""
    alipay_seller_id: str = ""
    alipay_private_key: SecretStr | None = None
    alipay_public_key: str = ""
    alipay_gateway_url: str = "https://openapi.alipay.com/gateway.do"
    payment_http_timeout_seconds: float = Field(default=10.0, gt=0)

    # -- WeChat mini-program login (issue 19; docs/decisions/150-151)
    wechat_appid: str = ""
    wechat_secret: SecretStr | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com"

    # -- indoor navigation (issue 8)
    # Printed QR markers encode `{navigation_marker_url}/{MARKER-ID}.{SIGNATURE}`; empty means
    # `{public_base_url}/navigation/m`.
    navigation_marker_url: str = ""
    navigation_walking_speed_mps: float = Field(default=1.0, gt=0)
    navigation_floor_change_cost_m: float = Field(default=20.0, ge=0)  # routing weight per floor crossed
    navigation_floor_change_seconds: float = Field(default=30.0, ge=0)  # walking time per floor crossed

    # -- notifications, SMS, login codes (issue 7; docs/decisions/070-079)
    notification_locale: Literal["zh", "en"] = "zh"
    notification_max_attempts: int = Field(default=6, ge=1, le=50)
    notification_backoff_seconds: float = Field(default=5.0, ge=0)  # 5 s, 10 s, 20 s, … per attempt
    notification_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    notification_lease_seconds: float = Field(default=60.0, gt=0)  # longer than sms_timeout_seconds
    notification_dispatch_seconds: float = Field(default=1.0, gt=0)
    notification_batch_size: int = Field(default=50, ge=1, le=1000)
    visit_reminder_hour: int = Field(default=18, ge=0, le=23)  # local hour, the day before the visit
    followup_reminder_hour: int = Field(default=9, ge=0, le=23)  # local hour on the follow-up day
    sms_provider: Literal["console", "aliyun", "tencent"] = "console"
    sms_timeout_seconds: float = Field(default=5.0, gt=0)
    # {"booking.confirmed": "SMS_123456", ...}: the provider-side template of each event.
    sms_template_codes: dict[str, str] = {}
    sms_aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    sms_aliyun_access_key_id: str = ""
    sms_aliyun_access_key_secret: SecretStr = SecretStr("")
    sms_aliyun_sign_name: str = "挂了吗"
    sms_aliyun_region: str = "cn-hangzhou"
    sms_tencent_endpoint: str = "https://sms.tencentcloudapi.com/"
    sms_tencent_secret_id: str = ""
    sms_tencent_secret_key: SecretStr = SecretStr("")
    sms_tencent_sdk_app_id: str = ""
    sms_tencent_sign_name: str = "挂了吗"
    sms_tencent_region: str = "ap-guangzhou"
    login_code_minutes: int = Field(default=5, ge=1, le=30)
    login_code_max_attempts: int = Field(default=5, ge=1, le=20)
    sms_limit_per_minute: int = Field(default=1, ge=1)
    sms_limit_per_hour: int = Field(default=5, ge=1)
    sms_limit_per_day: int = Field(default=10, ge=1)
    sms_ip_limit_per_hour: int = Field(default=30, ge=1)
    sms_ip_limit_per_day: int = Field(default=200, ge=1)
    # Every text to one phone in a rolling day, whatever caused it (codes, bookings, reminders): the
    # texts beyond are not sent (the in-app message still is). Aliyun's own default is 10 a day.
    sms_daily_cap_per_phone: int = Field(default=20, ge=1, le=1000)

    # -- queue calling (issue 5). Check-in opens this long before the slot starts and closes this long
    # after it ends; arriving after the slot ended marks the patient late (behind those on time).
    checkin_open_minutes_before: int = Field(default=60, ge=0, le=24 * 60)
    checkin_close_minutes_after: int = Field(default=120, ge=0, le=24 * 60)
    # Patients this old or older (by the birth date in their resident ID) get priority at check-in.
    elderly_priority_age: int = Field(default=65, ge=50, le=120)
    queue_returned_after: int = Field(default=2, ge=0)  # a 回诊 patient re-enters behind this many
    queue_restored_after: int = Field(default=3, ge=0)  # a restored 过号 patient re-enters behind this many
    queue_transferred_after: int = Field(default=2, ge=0)  # a transferred patient enters behind this many
    queue_board_waiting_shown: int = Field(default=5, ge=1, le=50)  # "next N" on a board
    queue_pace_sample: int = Field(default=5, ge=1, le=50)  # recent calls the wait estimate uses
    queue_default_minutes_per_patient: int = Field(default=8, ge=1)  # before the room has a pace

    # -- waitlist (issue 6). The mode is read at each join and kept by the entry (decision 090):
    # "prepaid" asks the fee on joining (payWaitlistEntry) and books a freed seat at once.
    waitlist_mode: Literal["offer", "prepaid"] = "offer"
    waitlist_offer_minutes: int = Field(default=30, ge=1, le=24 * 60)
    waitlist_max_entries: int = Field(default=3, ge=1, le=50)
    waitlist_expire_hour: int = Field(default=23, ge=0, le=23)  # the day before the visit
    # AI预问诊 (issue 14): the offline engine is the default; an OpenAI-compatible LLM is optional.
    pre_consultation_max_questions: int = Field(default=5, ge=0, le=12)
    pre_consultation_max_answer_chars: int = Field(default=500, ge=20, le=4000)
    pre_consultation_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    llm_base_url: str = ""  # e.g. https://api.deepseek.com/v1 ; empty: no LLM step
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""
    llm_timeout_seconds: float = Field(default=8.0, gt=0, le=120)

    # -- operations (issue 19; docs/decisions/152-156)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics: with a token, only `Authorization: Bearer <token>`; without one, only peers in
    # `metrics_allowed_networks` (Prometheus beside the server).
    metrics_token: SecretStr | None = None
    metrics_allowed_networks: CommaList = ["127.0.0.0/8", "::1/128"]
    # SIGTERM: in-flight requests get this long to finish before uvicorn cancels them.
    shutdown_grace_seconds: int = Field(default=10, ge=0, le=300)
    # OpenTelemetry: traces go to this OTLP/HTTP endpoint (e.g. http://collector:4318); unset: off.
    otlp_endpoint: str = ""
    otel_service_name: str = "gualema"
    # -- partners: persisted queries, API keys, rate limits, cacheable GETs (issue 17; decisions 160-166)
    apq_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)  # an APQ document kept in Redis
    apq_max_entries: int = Field(default=5000, ge=16)  # ...or in this process, without Redis
    # "audit": a partner key's request outside its manifests is logged, not refused (for roll-out).
    trusted_documents: Literal["audit", "enforce"] = "enforce"
    # Query-cost units per account: two of the dearest documents (max_query_cost) in flight at once;
    # the unused part of each estimate is refunded as soon as it is answered (decision 123).
    account_bucket_capacity: int = Field(default=50_000, ge=10)
    account_restore_rate: int = Field(default=2_500, ge=1)  # units restored per second
    account_max_concurrent: int | None = Field(default=None, ge=1)  # None: no cap (apps retry in bursts)
    account_daily_quota: int | None = Field(default=None, ge=1)  # requests per local day
    partner_bucket_capacity: int = Field(default=10_000, ge=10)  # per key, unless the key says
    partner_restore_rate: int = Field(default=500, ge=1)
    partner_max_concurrent: int | None = Field(default=10, ge=1)
    partner_daily_quota: int | None = Field(default=500_000, ge=1)
    # Anonymous callers, per client address (uvicorn resolves it through the trusted proxies, decision
    # 110). Generous: a school or a ward behind one NAT address shares one bucket (decision 221).
    # A campus NAT at 08:00: dozens of week browses (estimated ~13,000 each) in flight at once.
    anonymous_bucket_capacity: int = Field(default=1_000_000, ge=10)
    anonymous_restore_rate: int = Field(default=50_000, ge=1)
    anonymous_max_concurrent: int | None = Field(default=None, ge=1)
    anonymous_daily_quota: int | None = Field(default=None, ge=1)
    ws_connect_cost: int = Field(default=10, ge=1)  # units a WebSocket's connection_init is charged
    # Server processes sharing the limits through Redis: while Redis is unreachable each process keeps
    # 1/N of every bucket in memory, and tries Redis again every `retry` seconds (decision 222).
    rate_limit_processes: int = Field(default=1, ge=1, le=1024)
    rate_limit_redis_retry_seconds: float = Field(default=5.0, ge=0, le=300)
    public_max_age_seconds: int = Field(default=10, ge=0, le=3600)  # persisted GETs of public data
    public_stale_seconds: int = Field(default=60, ge=0, le=86400)  # stale-while-revalidate
    # Release-hour browsing (docs/decisions/260): anonymous public answers kept until what they show
    # changes; the age is a backstop for writes made outside the servers (0 turns the cache off), and
    # an answer younger than `fresh` is served through a burst of changes.
    browse_cache_max_age_seconds: float = Field(default=30.0, ge=0, le=3600)
    browse_cache_fresh_seconds: float = Field(default=0.25, ge=0, le=0.9)

    # -- background work
    worker_interval_seconds: float = Field(default=1.0, gt=0)
    run_workers: bool = True

    @field_validator("cors_origins", "ws_allowed_origins", "metrics_allowed_networks", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("metrics_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not an address or network such as 10.0.0.0/8") from exc
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

    @field_validator("miniprogram_link")
    @classmethod
    def _miniprogram_link(cls, value: str) -> str:
        if value and not value.startswith(("weixin://", "https://")):
            raise ValueError("the mini-program link is a weixin:// URL scheme or an https:// URL link")
        return value

    @field_validator("cors_origins", "ws_allowed_origins")
    @classmethod
    def _web_origins(cls, value: list[str]) -> list[str]:
        # Browsers send an Origin without a path or trailing slash; anything else never matches.
        for origin in value:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin such as https://admin.example.org or *")
        return value

    @field_validator(
        "public_base_url",
        "payment_notify_base_url",
        "wechat_pay_base_url",
        "alipay_gateway_url",
        "navigation_marker_url",
        "sms_aliyun_endpoint",
        "sms_tencent_endpoint",
        "wechat_api_base_url",
        "otlp_endpoint",
        check_fields=False,  # each area declares its own; a missing one is simply not checked
    )
    @classmethod
    def _http_urls(cls, value: str, info: ValidationInfo) -> str:
        if value == "" and info.field_name in OPTIONAL_URLS:
            return value
        if not _HTTP_URL.fullmatch(value):
            raise ValueError("must be an http:// or https:// URL such as https://gualema.example.org")
        return value

    @field_validator("redis_url")
    @classmethod
    def _supported_redis(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value.split("://", 1)[0] not in {"redis", "rediss", "unix"}:
            raise ValueError(
                "must be a redis://, rediss:// or unix:// URL, or unset for the in-process broker"
            )
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _plain_prefix(cls, value: str) -> str:
        if not _KEY_PREFIX.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, '-', '_', '.' or ':'")
        return value

    @field_validator("secret_key")
    @classmethod
    def _production_needs_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if info.data.get("env") == "production":
            if value.get_secret_value() == DEVELOPMENT_SECRET:
                raise ValueError("must be set in production (the development default is public)")
            if len(value.get_secret_value()) < MIN_PRODUCTION_SECRET:
                raise ValueError(f"must have at least {MIN_PRODUCTION_SECRET} characters in production")
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def access_token_lifetime(self) -> timedelta:
        return timedelta(minutes=self.access_token_minutes)

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def payment_sandbox_on(self) -> bool:
        if self.payment_sandbox_enabled is not None:
            return self.payment_sandbox_enabled
        return not self.is_production

    # -- the small configs the edge hands down (docs/decisions/132): nothing below gualema/ reads settings.

    def payment_providers(self) -> PaymentProviders:
        """The payment providers this deployment offers: the sandbox unless switched off, the others
        once all their keys are set."""
        notify_base = self.payment_notify_base_url or self.public_base_url
        wechat_pay = None
        if self.wechat_pay_mchid and self.wechat_pay_private_key and self.wechat_pay_apiv3_key:
            wechat_pay = WeChatPayConfig(
                mchid=self.wechat_pay_mchid,
                appid=self.wechat_pay_appid,
                merchant_serial=self.wechat_pay_merchant_serial,
                private_key_pem=self.wechat_pay_private_key.get_secret_value(),
                apiv3_key=self.wechat_pay_apiv3_key.get_secret_value(),
                platform_public_keys=tuple(sorted(self.wechat_pay_platform_public_keys.items())),
                base_url=self.wechat_pay_base_url,
                notify_url=notify_url(notify_base, WECHAT_PAY),
                notification_window=timedelta(seconds=self.payment_notification_window_seconds),
                min_age_before_close=timedelta(seconds=self.wechat_pay_min_close_seconds),
                timeout_seconds=self.payment_http_timeout_seconds,
            )
        alipay = None
        if self.alipay_app_id and self.alipay_private_key and self.alipay_public_key:
            alipay = AlipayConfig(
                app_id=self.alipay_app_id,
                seller_id=self.alipay_seller_id,
                private_key_pem=self.alipay_private_key.get_secret_value(),
                alipay_public_key_pem=self.alipay_public_key,
                gateway_url=self.alipay_gateway_url,
                notify_url=notify_url(notify_base, ALIPAY),
                timeout_seconds=self.payment_http_timeout_seconds,
            )
        sandbox = None
        if self.payment_sandbox_on:
            sandbox = SandboxConfig(self.secret_key.get_secret_value(), self.public_base_url, self.tz)
        return PaymentProviders(sandbox=sandbox, wechat_pay=wechat_pay, alipay=alipay)

    def sms_config(self) -> SmsConfig:
        return SmsConfig(
            provider=self.sms_provider,
            template_codes=dict(self.sms_template_codes),
            timeout_seconds=self.sms_timeout_seconds,
            aliyun_endpoint=self.sms_aliyun_endpoint,
            aliyun_access_key_id=self.sms_aliyun_access_key_id,
            aliyun_access_key_secret=self.sms_aliyun_access_key_secret.get_secret_value(),
            aliyun_sign_name=self.sms_aliyun_sign_name,
            aliyun_region=self.sms_aliyun_region,
            tencent_endpoint=self.sms_tencent_endpoint,
            tencent_secret_id=self.sms_tencent_secret_id,
            tencent_secret_key=self.sms_tencent_secret_key.get_secret_value(),
            tencent_sdk_app_id=self.sms_tencent_sdk_app_id,
            tencent_sign_name=self.sms_tencent_sign_name,
            tencent_region=self.sms_tencent_region,
        )

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
        raise SettingsError(f"invalid settings: {describe_problems(exc)}") from None
    unknown = unknown_variables(os.environ)
    if unknown:
        log.warning("ignoring unknown settings (typo?): %s", ", ".join(unknown))
    if settings.uses_development_secret:
        log.warning(
            "!!! GUALEMA_SECRET_KEY is the development default: tokens and encrypted ID numbers "
            "are NOT protected. Set GUALEMA_SECRET_KEY before real use. !!!"
        )
    return settings


def describe_problems(exc: ValidationError) -> str:
    """`GUALEMA_DB_POOL_SIZE: Input should be a valid integer (got 'abc')`, one per problem."""
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        name = ENV_PREFIX + (location[0].upper() if location else "SETTINGS")
        detail = f" at {'.'.join(location[1:])}" if len(location) > 1 else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        given = error.get("input")
        # Never echo values that may hold credentials (keys, secrets, URLs with passwords).
        sensitive = any(word in name for word in ("SECRET", "KEY", "URL", "PASSWORD"))
        shown = "" if given is None or sensitive else f" (got {given!r})"
        problems.append(f"{name}{detail}: {message}{shown}")
    return "; ".join(problems)


def unknown_variables(environment: Mapping[str, str]) -> list[str]:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(
        name
        for name in environment
        if name.upper().startswith(ENV_PREFIX)
        and name.upper() not in known
        and not name.upper().startswith(FOREIGN_VARIABLES)
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
