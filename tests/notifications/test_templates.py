"""Every event has a Chinese and an English template, and rendering checks the variables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from models.message_templates import LOCALES, TEMPLATES, TemplateError, placeholders, render

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVENTS = [
    "booking.confirmed",
    "payment.received",
    "booking.cancelled",
    "refund.completed",
    "waitlist.joined",
    "waitlist.offered",
    "waitlist.booked",
    "waitlist.expired",
    "visit.reminder",
    "queue.three_ahead",
    "queue.your_turn",
    "schedule.stopped",
    "schedule.stopped_unpaid",
    "booking.no_show",
    "schedule.substituted",
    "followup.reminder",
    "verification.code",
    "password.reset_code",
]


def sample(name: str) -> object:
    if name.endswith("_fen"):
        return 1234
    if name.endswith(("_time", "_at")):
        return datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    if name in ("date", "visit_date"):
        return date(2026, 3, 8)
    return f"<{name}>"


def test_there_is_one_template_per_event() -> None:
    assert sorted(TEMPLATES) == sorted(EVENTS)


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_template_renders_every_variable_it_declares(event: str, locale: str) -> None:
    template = TEMPLATES[event]
    wording = template.wording(locale)  # type: ignore[arg-type]
    assert placeholders(wording.body) == set(template.variables)

    message = render(event, {name: sample(name) for name in template.variables}, locale, SHANGHAI)  # type: ignore[arg-type]

    assert "{" not in message.body
    assert "}" not in message.body
    assert set(message.params) == set(template.variables)
    assert message.title


def test_chinese_is_the_default_wording_and_values_are_shown_for_people() -> None:
    message = render(
        "booking.confirmed",
        {
            "patient_name": "王小明",
            "department": "心内科",
            "doctor": "李华",
            "visit_time": datetime(2026, 3, 1, 1, 30, tzinfo=UTC),
            "queue_number": 7,
        },
        "zh",
        SHANGHAI,
    )
    assert message.body == "王小明，您已成功预约心内科李华医生，就诊时间2026-03-01 09:30，序号7。请按时就诊。"
    english = render("refund.completed", {"patient_name": "Wang", "amount_fen": 1005}, "en", SHANGHAI)
    assert english.body == "Wang, CNY 10.05 has been refunded to your account."


def test_a_missing_or_unknown_variable_is_an_error() -> None:
    with pytest.raises(TemplateError, match=r"missing variables \['minutes'\], unknown variables \['cod'\]"):
        render("verification.code", {"code": "123456", "cod": "x"}, "zh", SHANGHAI)
    with pytest.raises(TemplateError, match=r"no template for event 'booking\.teleported'"):
        render("booking.teleported", {}, "zh", SHANGHAI)


def test_money_must_be_integer_fen_and_times_must_be_aware() -> None:
    with pytest.raises(TemplateError, match="amount_fen takes integer fen"):
        render("refund.completed", {"patient_name": "x", "amount_fen": 10.5}, "zh", SHANGHAI)
    with pytest.raises(TemplateError, match="visit_time must be timezone-aware"):
        render(
            "waitlist.expired",
            {"patient_name": "x", "department": "y", "visit_time": datetime(2026, 3, 1, 9, 30)},  # noqa: DTZ001
            "zh",
            SHANGHAI,
        )
