"""The domain's process-wide policies, built from the settings once, at the edge.

Some domain calls are made deep inside others that carry no settings (a booking's transition records
its notice; a factory encrypts an ID number), so the domain keeps a few small frozen policies that
the edge installs when a process opens its database; models/ itself never reads settings
(docs/decisions/132).
"""

from __future__ import annotations

from gualema.settings import Settings
from models.notifications import NotifyDefaults, install_defaults
from models.personal_data import Keyring, install_keyring


def install(settings: Settings) -> None:
    install_defaults(
        NotifyDefaults(
            locale=settings.notification_locale,
            tz_name=settings.timezone,
            max_attempts=settings.notification_max_attempts,
            visit_reminder_hour=settings.visit_reminder_hour,
        )
    )
    keys = settings.encryption_keys.get_secret_value() if settings.encryption_keys else None
    lookup = settings.pii_lookup_key.get_secret_value() if settings.pii_lookup_key else None
    install_keyring(Keyring.from_settings(keys, settings.secret_key.get_secret_value(), lookup))
