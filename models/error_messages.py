"""What each expected failure is called, in Chinese (the default) and English: one catalogue keyed by
the machine-readable code every `DomainError` carries (issue 13.10).

Clients switch on the code and may show the message. The Chinese text is the catalogue's, with the
failure's details filled in where it names them; the English text is the failure's own message,
which is often more specific (it names the limit, the field's rule), or the catalogue's when it has
none. tests/architecture/test_error_catalogue.py keeps the catalogue complete.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Language = Literal["zh", "en"]


@dataclass(frozen=True)
class ErrorWording:
    zh: str
    en: str


def _w(zh: str, en: str) -> ErrorWording:
    return ErrorWording(zh, en)


CATALOGUE: dict[str, ErrorWording] = {
    "ACCOUNT_DISABLED": _w("该账号已被停用", "this account is disabled"),
    "ALREADY_CHECKED_IN": _w("该预约已签到", "this booking is already checked in"),
    "ALREADY_WAITING": _w("该就诊人已在此候补中", "this patient is already on this waitlist"),
    "BLACKLISTED": _w("因多次爽约，暂时不能在线预约", "online booking is blocked after repeated no-shows"),
    "BOOKING_CLOSED": _w("该时段已停止在线预约", "this session can no longer be booked online"),
    "BOOKING_NOT_PAYABLE": _w("该预约无需支付或已不能支付", "this booking is not waiting for payment"),
    "CANCELLATION_CLOSED": _w("该预约已不能在线取消", "this booking can no longer be cancelled online"),
    "CHECK_IN_CLOSED": _w(
        "签到已结束，请到服务台办理", "check-in for this booking has closed; please ask the desk"
    ),
    "CHECK_IN_NOT_OPEN": _w("还未到签到时间", "check-in for this booking has not opened yet"),
    "DEPARTMENT_DEPTH_EXCEEDED": _w("科室最多两级", "a department may have at most two levels"),
    "DEPARTMENT_HAS_ACTIVE_CHILDREN": _w("请先停用下级科室", "archive the sub-departments first"),
    "DEPARTMENT_HAS_ACTIVE_DOCTORS": _w(
        "请先停用或调走该科室的医生", "archive or move the department's doctors first"
    ),
    "DUPLICATE_BOOKING": _w(
        "该就诊人当天已预约此时段或此科室",
        "this patient already has a booking for this session or department that day",
    ),
    "DUPLICATE_CODE": _w("科室代码已被使用", "another department already uses this code"),
    "DUPLICATE_NAME": _w("名称已被使用", "this name is already used"),
    "DUPLICATE_PATIENT": _w("此人已是您的就诊人", "this person is already one of your patients"),
    "IDEMPOTENCY_KEY_REUSED": _w(
        "该幂等键已用于另一个请求", "this idempotency key was already used for a different request"
    ),
    "INVALID_CHECK_IN_CODE": _w(
        "签到码无效，请重新扫描墙上的二维码", "this code is not valid; scan the code on the wall again"
    ),
    "INVALID_CODE": _w(
        "验证码错误或已过期，请重新获取", "the code is wrong or has expired; request a new one"
    ),
    "INVALID_CREDENTIALS": _w("手机号或密码错误", "wrong phone number or password"),
    "INVALID_INPUT": _w("填写的内容不符合要求（{field}）", "the input is invalid"),
    "INVALID_MARKER": _w(
        "此二维码不是医院发放的或已被篡改", "this QR code was not issued by the hospital or was altered"
    ),
    "INVALID_REFRESH_TOKEN": _w(
        "登录已失效，请重新登录", "the refresh token is invalid, expired or already used; log in again"
    ),
    "INVALID_TRANSITION": _w("当前状态不允许此操作", "this change of status is not allowed"),
    "LOGIN_THROTTLED": _w(
        "登录尝试过多，请{retry_after_seconds}秒后再试", "too many login attempts; try again later"
    ),
    "MAP_DOCUMENT_INVALID": _w(
        "地图文件有误，未导入任何内容", "the map document has problems; nothing was imported"
    ),
    "MAP_IN_USE": _w(
        "该部分地图仍有楼层、点位或连线，请先删除", "this part of the map still has floors, points or edges"
    ),
    "NO_ROUTE": _w("暂时无法到达目的地，请咨询服务台", "no route to the destination"),
    "NO_VISIT_TODAY": _w("您今天没有待就诊的预约", "you have no confirmed visit left today"),
    "NOT_ALLOWED": _w("您无权进行此操作", "you may not do this"),
    "NOT_FOUND": _w("未找到", "not found"),
    "ANSWER_REJECTED": _w(
        "回答无法识别（为空、过长或没有文字），请用文字描述", "the answer is empty, too long or has no words"
    ),
    "BOOKINGS_OUTSIDE_NEW_TIMES": _w(
        "有预约落在新时间之外，请先改约或取消",
        "some bookings fall outside the new times; move or cancel them first",
    ),
    "CAPACITY_BELOW_BOOKED": _w(
        "号源数不能少于已预约数", "the capacity cannot go below the seats already booked"
    ),
    "CONVERSATION_BUSY": _w(
        "上一条回答还在处理中，请稍后重试", "the previous answer is still being handled; retry"
    ),
    "CONVERSATION_CLOSED": _w(
        "这次预问诊已结束，请重新开始", "this pre-consultation has ended; start a new one"
    ),
    "MALFORMED_ID": _w("编号格式有误（{field}）", "the id is malformed"),
    "MANIFEST_NOT_VALID": _w("清单无效", "the manifest is not valid"),
    "PATIENT_IN_USE": _w(
        "该就诊人有进行中的预约或候补，请先取消或完成",
        "this patient has an active booking or waitlist entry; cancel or finish it first",
    ),
    "RESCHEDULE_NOT_ALLOWED": _w(
        "只能改约到同一科室的其他时段", "a booking can be moved only to another slot of the same department"
    ),
    "SESSION_HAS_BOOKINGS": _w(
        "该出诊已有预约，不能删除，请改为停诊", "a session with bookings cannot be deleted; stop it"
    ),
    "SESSION_IN_THE_PAST": _w("出诊不能早于现在", "a session cannot start in the past"),
    "SESSION_OVERLAPS": _w(
        "该医生或诊室在此时间已有出诊", "the doctor or the room already holds a session at that time"
    ),
    "STOP_ALREADY_REQUESTED": _w(
        "该出诊已有待审批的停诊申请",
        "a stop request for this session is already waiting for an administrator",
    ),
    "STOP_REQUEST_NOT_PENDING": _w("该停诊申请已处理，未做任何更改", "this stop request was already decided"),
    "TEMPLATE_OVERLAPS": _w(
        "该医生或诊室在此时间已有每周排班模板",
        "the doctor or the room already has a weekly template at that time",
    ),
    "WECHAT_CODE_REJECTED": _w(
        "微信登录凭证无效或已使用，请重新获取", "the WeChat code is invalid or used; get a new one"
    ),
    "WECHAT_PHONE_REQUIRED": _w("首次微信登录需授权手机号", "first WeChat login: share your phone number"),
    "WECHAT_UNAVAILABLE": _w("微信服务繁忙，请稍后再试", "WeChat is busy; try again shortly"),
    "NOT_YET_RELEASED": _w("该时段号源尚未放出", "numbers for this session are not released yet"),
    "NOTHING_TO_CALL": _w("诊室里没有候诊的患者", "nobody is waiting in this room"),
    "NOTHING_TO_PAY": _w("该预约无需缴费", "this booking has no fee to pay"),
    "ONE_CODE_REQUEST_PER_OPERATION": _w(
        "每次请求只能发送或校验一个验证码", "send or check one code per request"
    ),
    "OPEN_ORDER_WITH_OTHER_PROVIDER": _w(
        "该预约有另一种方式的支付未完成，请先完成或等待其失效",
        "a payment with another method is open for this booking",
    ),
    "PATIENT_LIMIT_REACHED": _w("就诊人数量已达上限", "this account manages the maximum number of patients"),
    "PATIENT_NOT_FOUND": _w("该账号下没有此就诊人", "no such patient on this account"),
    "PAYMENT_PROVIDER_UNAVAILABLE": _w("暂不支持此支付方式", "this payment method is not available"),
    "PHONE_TAKEN": _w("该手机号已注册", "an account with this phone number exists"),
    "QUOTA_EXCEEDED": _w(
        "该账号当天预约数已达上限", "this account has reached its number of bookings for that day"
    ),
    "RATE_LIMITED": _w("请求过于频繁，请{retry_after_seconds}秒后再试", "too many requests; try again later"),
    "REFUND_EXCEEDS_PAID": _w("退款金额超过已付金额", "refunds would exceed the amount paid"),
    "ROOM_HAS_ACTIVE_DOCTORS": _w("该诊室仍是部分医生的默认诊室", "the room is some doctors' default room"),
    "SEATS_AVAILABLE": _w(
        "还有号源，请直接预约", "seats are still available: book one instead of joining the waitlist"
    ),
    "SLOT_UNAVAILABLE": _w("该时段已约满", "this time slot has no seat left"),
    "TOO_MANY_CODE_ATTEMPTS": _w("验证码错误次数过多，请重新获取", "too many wrong codes; request a new one"),
    "WAITLIST_CLOSED": _w("该时段候补已截止", "the waitlist for this session is closed"),
    "WAITLIST_ENTRY_NOT_PAYABLE": _w("该候补无需缴费", "this waitlist entry is not waiting for its fee"),
    "WAITLIST_LIMIT_REACHED": _w(
        "进行中的候补数量已达上限", "this account has the maximum number of active waitlist entries"
    ),
    "WRONG_CHECK_IN_PLACE": _w(
        "此签到码属于其他诊室或科室", "this code belongs to another room or department than your booking"
    ),
}


class _Details(dict[str, object]):
    # A placeholder the failure does not name is left out rather than failing the answer.
    def __missing__(self, key: str) -> str:
        return "-"


def message_for(code: str, language: Language, details: Mapping[str, object], specific: str | None) -> str:
    """The message of a failure with `code` in `language`; `specific` is the failure's own (English)."""
    wording = CATALOGUE.get(code)
    if language == "en" or wording is None:
        return specific or (wording.en if wording else code)
    return string.Formatter().vformat(wording.zh, (), _Details(details))


def language_of(accept_language: str | None) -> Language:
    """`Accept-Language: en` (or en-US, en;q=0.9 first) asks for English; anything else gets Chinese."""
    if not accept_language:
        return "zh"
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(",")[:16]:
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        if weight > 0:  # q=0 (or an unreadable weight): not acceptable
            ranked.append((weight, tag.strip().lower()))
    for _weight, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh") or tag == "*":
            return "zh"
    return "zh"
