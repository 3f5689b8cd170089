"""SMS providers behind one interface (interface.py): console (default), Aliyun, Tencent Cloud."""

from __future__ import annotations

from integrations.sms.aliyun.client import AliyunSmsProvider
from integrations.sms.config import SmsConfig
from integrations.sms.console import ConsoleSmsProvider
from integrations.sms.interface import SmsProvider
from integrations.sms.tencent.client import TencentSmsProvider


def build_provider(config: SmsConfig) -> SmsProvider:
    if config.provider == "aliyun":
        return AliyunSmsProvider(
            endpoint=config.aliyun_endpoint,
            access_key_id=config.aliyun_access_key_id,
            access_key_secret=config.aliyun_access_key_secret,
            sign_name=config.aliyun_sign_name,
            region=config.aliyun_region,
            template_codes=config.template_codes,
            timeout=config.timeout_seconds,
        )
    if config.provider == "tencent":
        return TencentSmsProvider(
            endpoint=config.tencent_endpoint,
            secret_id=config.tencent_secret_id,
            secret_key=config.tencent_secret_key,
            sdk_app_id=config.tencent_sdk_app_id,
            sign_name=config.tencent_sign_name,
            region=config.tencent_region,
            template_ids=config.template_codes,
            timeout=config.timeout_seconds,
        )
    return ConsoleSmsProvider()
