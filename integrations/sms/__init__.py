"""SMS providers behind one interface (interface.py): console (default), Aliyun, Tencent Cloud."""

from __future__ import annotations

from gualema.settings import Settings
from integrations.sms.interface import SmsProvider


def provider_from_settings(settings: Settings) -> SmsProvider:
    if settings.sms_provider == "aliyun":
        from integrations.sms.aliyun.client import AliyunSmsProvider

        return AliyunSmsProvider(
            endpoint=settings.sms_aliyun_endpoint,
            access_key_id=settings.sms_aliyun_access_key_id,
            access_key_secret=settings.sms_aliyun_access_key_secret.get_secret_value(),
            sign_name=settings.sms_aliyun_sign_name,
            region=settings.sms_aliyun_region,
            template_codes=settings.sms_template_codes,
            timeout=settings.sms_timeout_seconds,
        )
    if settings.sms_provider == "tencent":
        from integrations.sms.tencent.client import TencentSmsProvider

        return TencentSmsProvider(
            endpoint=settings.sms_tencent_endpoint,
            secret_id=settings.sms_tencent_secret_id,
            secret_key=settings.sms_tencent_secret_key.get_secret_value(),
            sdk_app_id=settings.sms_tencent_sdk_app_id,
            sign_name=settings.sms_tencent_sign_name,
            region=settings.sms_tencent_region,
            template_ids=settings.sms_template_codes,
            timeout=settings.sms_timeout_seconds,
        )
    from integrations.sms.console import ConsoleSmsProvider

    return ConsoleSmsProvider()
