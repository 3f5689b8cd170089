"""Real-name identity rules: resident ID numbers, staff/student numbers, phones, and their masks."""

from __future__ import annotations

import re
from datetime import date

from models.text_rules import folded

# [0-9], never \d: every pattern here is ASCII-only, after NFKC folded fullwidth digits (text_rules).
_RESIDENT_ID = re.compile(r"^[0-9]{17}[0-9X]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CODES = "10X98765432"
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
_CAMPUS_NUMBER = re.compile(r"^[A-Za-z0-9]{4,20}$")


def normalise_resident_id(value: str) -> str:
    return folded(value, field="idNumber", max_length=18).upper()


def resident_id_problem(value: str) -> str | None:
    """GB 11643-1999: 17 digits, a birth date at 7-14 and an ISO 7064 MOD 11-2 check character."""
    number = normalise_resident_id(value)
    if not _RESIDENT_ID.fullmatch(number):
        return "a resident ID number has 18 characters: 17 digits and a digit or X"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "the birth date inside the ID number is not a real date"
    if born.year < 1900 or born > date.today():  # noqa: DTZ011 - a calendar date, zone irrelevant here
        return "the birth date inside the ID number is out of range"
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _WEIGHTS, strict=True))
    if _CHECK_CODES[total % 11] != number[17]:
        return "the ID number's check digit does not match"
    return None


def birth_date(resident_id: str) -> date | None:
    """The birth date inside a valid resident ID number (positions 7-14), or None."""
    number = normalise_resident_id(resident_id)
    if resident_id_problem(number):
        return None
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex_of(resident_id: str) -> str | None:
    """ "male" or "female" from the 17th character of a valid resident ID (odd: male), or None."""
    number = normalise_resident_id(resident_id)
    if resident_id_problem(number):
        return None
    return "male" if int(number[16]) % 2 else "female"


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def normalise_campus_number(value: str) -> str:
    return folded(value, field="idNumber", max_length=20).upper()


def campus_number_problem(value: str) -> str | None:
    if not _CAMPUS_NUMBER.fullmatch(normalise_campus_number(value)):
        return "a student or staff number has 4-20 letters or digits"
    return None


def normalise_phone(value: str) -> str:
    digits = re.sub(r"[ \t-]", "", folded(value, field="phone", max_length=20))
    return digits.removeprefix("+86")


def phone_problem(value: str) -> str | None:
    if not _PHONE.fullmatch(normalise_phone(value)):
        return "a mainland mobile number has 11 digits and starts with 1"
    return None


def mask_id_number(value: str) -> str:
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """张三 -> 张*, 张小三 -> 张*三; what a waiting-room TV may show."""
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
