"""What the edge tells the SMS package: which provider, and its keys (docs/decisions/132)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class SmsConfig:
    provider: Literal["console", "aliyun", "tencent"] = "console"
    template_codes: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 5.0
    aliyun_endpoint: str = ""
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = field(default="", repr=False)
    aliyun_sign_name: str = ""
    aliyun_region: str = ""
    tencent_endpoint: str = ""
    tencent_secret_id: str = ""
    tencent_secret_key: str = field(default="", repr=False)
    tencent_sdk_app_id: str = ""
    tencent_sign_name: str = ""
    tencent_region: str = ""
