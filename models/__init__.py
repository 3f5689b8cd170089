"""The domain: tables, status enums, transition tables, pure rules and atomic actions.

Every module that declares tables is listed here once; tortoise and the migrations read this list.
"""

MODEL_MODULES: list[str] = [
    "models.accounts",
    "models.access_revocations",
    "models.catalogue",
    "models.audit",
    "models.calendar",
    "models.scheduling",
    "models.booking.tables",
    "models.no_shows",
    "models.payments",
    "models.queueing",
    "models.waitlist.entries",
    "models.notifications",
    "models.verification_codes",
    "models.rate_limits",
    "models.navigation",
    "models.jobs",
    "models.wechat",
    "models.statistics.tables",
    "models.partners",
    "models.pre_consultation",
    "models.schedule_stop_requests",
]
