"""One message template per event, in Chinese (default) and English, with declared variables.

Rendering is strict: a missing or an unknown variable raises `TemplateError`, so a caller that passes
the wrong parameters fails in its own tests instead of texting a patient "{visit_time}".
Values: str or int as given; a variable whose name ends in `_fen` takes integer fen and shows yuan;
datetimes are shown in the hospital's time zone, dates as YYYY-MM-DD.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

Locale = Literal["zh", "en"]
LOCALES: tuple[Locale, ...] = ("zh", "en")


class TemplateError(ValueError):
    """A template was asked for with an unknown event or the wrong variables (a programming error)."""


@dataclass(frozen=True)
class Wording:
    title: str
    body: str


@dataclass(frozen=True)
class MessageTemplate:
    event: str
    variables: tuple[str, ...]  # in this order for providers that take positional parameters
    zh: Wording
    en: Wording

    def wording(self, locale: Locale) -> Wording:
        return self.zh if locale == "zh" else self.en


@dataclass(frozen=True)
class RenderedMessage:
    event: str
    locale: Locale
    title: str
    body: str
    params: dict[str, str]  # every variable as the text shown, for provider-side templates


def _t(event: str, variables: str, zh: tuple[str, str], en: tuple[str, str]) -> MessageTemplate:
    return MessageTemplate(event, tuple(variables.split()), Wording(*zh), Wording(*en))


TEMPLATES: dict[str, MessageTemplate] = {
    t.event: t
    for t in (
        _t(
            "booking.confirmed",
            "patient_name department doctor visit_time queue_number",
            (
                "挂号成功",
                "{patient_name}，您已成功预约{department}{doctor}医生，就诊时间{visit_time}，"
                "序号{queue_number}。请按时就诊。",
            ),
            (
                "Booking confirmed",
                "{patient_name}, your appointment with Dr {doctor} ({department}) at {visit_time} is "
                "confirmed, number {queue_number}.",
            ),
        ),
        _t(
            "payment.received",
            "patient_name department amount_fen",
            ("支付成功", "{patient_name}，您的{department}挂号费{amount_fen}元已支付成功。"),
            ("Payment received", "{patient_name}, we received CNY {amount_fen} for {department}."),
        ),
        _t(
            "booking.cancelled",
            "patient_name department visit_time reason",
            ("挂号已取消", "{patient_name}，您{visit_time}的{department}挂号已取消。原因：{reason}。"),
            (
                "Booking cancelled",
                "{patient_name}, your {department} appointment at {visit_time} is cancelled: {reason}.",
            ),
        ),
        _t(
            "refund.completed",
            "patient_name amount_fen",
            ("退款成功", "{patient_name}，{amount_fen}元已原路退回，请注意查收。"),
            ("Refund completed", "{patient_name}, CNY {amount_fen} has been refunded to your account."),
        ),
        _t(
            "waitlist.joined",
            "patient_name department visit_date position",
            (
                "已加入候补",
                "{patient_name}，您已加入{department}{visit_date}的候补，当前排第{position}位，有号时会通知您。",
            ),
            (
                "On the waitlist",
                "{patient_name}, you are number {position} on the waitlist for {department} on {visit_date}; "
                "we will tell you when a seat frees.",
            ),
        ),
        _t(
            "waitlist.offered",
            "patient_name department visit_time expires_time",
            (
                "候补号源已为您保留",
                "{patient_name}，您候补的{department}{visit_time}有号了，请在{expires_time}前完成支付。",
            ),
            (
                "A seat is held for you",
                "{patient_name}, a {department} seat at {visit_time} is held for you until {expires_time}.",
            ),
        ),
        _t(
            "waitlist.booked",
            "patient_name department visit_time queue_number",
            (
                "候补成功",
                "{patient_name}，候补成功：{department}，就诊时间{visit_time}，序号{queue_number}。",
            ),
            (
                "Waitlist booked",
                "{patient_name}, you are booked from the waitlist: {department} at {visit_time}, "
                "number {queue_number}.",
            ),
        ),
        _t(
            "waitlist.expired",
            "patient_name department visit_time",
            ("候补已结束", "{patient_name}，您候补的{department}{visit_time}未能成功，候补已结束。"),
            (
                "Waitlist ended",
                "{patient_name}, no seat came free for {department} at {visit_time}; the waitlist ended.",
            ),
        ),
        _t(
            "visit.reminder",
            "patient_name department visit_time location",
            ("就诊提醒", "{patient_name}，您预约了明天{visit_time}的{department}，就诊地点{location}。"),
            (
                "Visit reminder",
                "{patient_name}, your {department} visit is tomorrow at {visit_time}, {location}.",
            ),
        ),
        _t(
            "queue.three_ahead",
            "patient_name department ticket",
            ("即将就诊", "{patient_name}，{department}{ticket}号前面还有3位，请到诊室外候诊。"),
            (
                "Almost your turn",
                "{patient_name}, three people are ahead of number {ticket} at {department}.",
            ),
        ),
        _t(
            "schedule.stopped_unpaid",
            "patient_name department visit_time reason",
            ("停诊通知", "{patient_name}，{department}{visit_time}停诊（{reason}），您的挂号已取消。"),
            (
                "Session cancelled",
                "{patient_name}, the {department} session at {visit_time} is cancelled ({reason}); "
                "your booking is cancelled.",
            ),
        ),
        _t(
            "schedule.substituted",
            "patient_name department visit_time doctor",
            (
                "替诊通知",
                "{patient_name}，您{visit_time}的{department}门诊改由{doctor}医生接诊，挂号保留，请按时就诊。",
            ),
            (
                "Doctor changed",
                "{patient_name}, your {department} visit at {visit_time} will be seen by Dr {doctor}; "
                "your booking stands.",
            ),
        ),
        _t(
            "booking.no_show",
            "patient_name department visit_time reason",
            (
                "爽约提醒",
                "{patient_name}，您{visit_time}的{department}挂号未按时就诊，已记为爽约（{reason}）。"
                "多次爽约将暂停网上挂号。",
            ),
            (
                "Missed appointment",
                "{patient_name}, your {department} appointment at {visit_time} was missed ({reason}). "
                "Repeated no-shows suspend online booking.",
            ),
        ),
        _t(
            "queue.your_turn",
            "patient_name room ticket",
            ("请就诊", "{patient_name}，请{ticket}号到{room}就诊。"),
            ("Your turn", "{patient_name}, number {ticket}, please go to {room}."),
        ),
        _t(
            "schedule.stopped",
            "patient_name department visit_time reason",
            (
                "停诊通知",
                "{patient_name}，{department}{visit_time}停诊（{reason}），挂号费将原路退回。",
            ),
            (
                "Session cancelled",
                "{patient_name}, the {department} session at {visit_time} is cancelled ({reason}); "
                "your fee will be refunded.",
            ),
        ),
        _t(
            "followup.reminder",
            "patient_name department doctor date note",
            ("复诊提醒", "{patient_name}，{doctor}医生提醒您于{date}到{department}复诊。{note}"),
            (
                "Follow-up reminder",
                "{patient_name}, Dr {doctor} asks you to come back to {department} on {date}. {note}",
            ),
        ),
        _t(
            "verification.code",
            "code minutes",
            ("验证码", "您的验证码是{code}，{minutes}分钟内有效。请勿告诉他人。"),
            ("Verification code", "Your code is {code}, valid for {minutes} minutes. Do not share it."),
        ),
        _t(
            "password.reset_code",
            "code minutes",
            (
                "重置密码",
                "您正在重置账号密码，验证码{code}，{minutes}分钟内有效。如非本人操作，请忽略，勿告诉他人。",
            ),
            (
                "Password reset",
                "Your password reset code is {code}, valid for {minutes} minutes. "
                "If you did not ask for it, ignore this text and share the code with no one.",
            ),
        ),
    )
}


def template_for(event: str) -> MessageTemplate:
    try:
        return TEMPLATES[event]
    except KeyError:
        raise TemplateError(f"no template for event {event!r}") from None


def _shown(name: str, value: object, tz: ZoneInfo) -> str:
    if name.endswith("_fen"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TemplateError(f"{name} takes integer fen, got {type(value).__name__}")
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TemplateError(f"{name} must be timezone-aware")
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise TemplateError(f"{name} must be text, a number, a date or a time, got {type(value).__name__}")


def render(event: str, params: Mapping[str, object], locale: Locale, tz: ZoneInfo) -> RenderedMessage:
    template = template_for(event)
    if locale not in LOCALES:
        raise TemplateError(f"unknown locale {locale!r}")
    missing = [name for name in template.variables if name not in params]
    unknown = sorted(set(params) - set(template.variables))
    if missing or unknown:
        raise TemplateError(f"{event}: missing variables {missing}, unknown variables {unknown}")
    shown = {name: _shown(name, params[name], tz) for name in template.variables}
    wording = template.wording(locale)
    return RenderedMessage(
        event=event,
        locale=locale,
        title=wording.title,
        body=wording.body.format_map(shown),
        params=shown,
    )


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
