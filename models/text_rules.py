"""What typed text may contain, checked before anything reaches the ORM (issue 13.2).

Two rules, one place:
- Digits in phones and ID numbers are ASCII. Input is NFKC-normalised first, so the fullwidth digits a
  Chinese input method produces (１３８…) become ASCII and are stored, hashed and deduplicated in that
  one form; digits of other scripts (Arabic-Indic ٠١٢…, Devanagari …) are not folded by NFKC and are
  refused by the ASCII-only patterns that follow (`int()`, `str.isdigit()` and `\\d` accept them all).
- Names, reasons and notes refuse control characters (Cc, NUL included), format characters (Cf: zero
  width, bidi overrides), separators of lines and paragraphs, surrogates, private-use and unassigned
  code points. PostgreSQL refuses NUL in text with a server error and SQLite stores it: refusing it here
  makes every backend answer alike.
Lengths are checked on the raw value first, so a megabyte of input costs no normalisation.
"""

from __future__ import annotations

import re
import unicodedata

from models.errors import InvalidInput

# Categories refused in free text: control, format, surrogate, private use, unassigned, and the line
# and paragraph separators (U+2028/2029), which break the one-line SMS and log formats.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Raw input longer than this is refused before normalising (NFKC can only grow a string so much).
_RAW_SLACK = 4


def folded(value: str, *, field: str, max_length: int) -> str:
    """NFKC form of a phone or ID number, stripped; refused when the raw value is far too long."""
    if len(value) > max_length * _RAW_SLACK:
        raise InvalidInput(field, f"at most {max_length} characters")
    return unicodedata.normalize("NFKC", value).strip()


def refused_character(value: str) -> str | None:
    """The first character free text may not hold, or None."""
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return char
    return None


def clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """A name, reason or note: stripped, 1..max_length characters (0 when not required), NFC, and
    free of control, format and separator characters."""
    if len(value) > max_length * _RAW_SLACK:
        raise InvalidInput(field, f"at most {max_length} characters")
    char = refused_character(value)
    if char is not None:
        raise InvalidInput(field, f"contains a control or invisible character (U+{ord(char):04X})")
    text = unicodedata.normalize("NFC", value).strip()
    if required and not text:
        raise InvalidInput(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidInput(field, f"at most {max_length} characters")
    return text


# A person's name as an SMS may carry it: Han characters (with the CJK extension A and compatibility
# blocks), Latin letters, the middle dot of transliterated names (阿卜杜拉·艾买提), a hyphen and single
# spaces. No digits, punctuation, brackets or dots: nothing that reads as a headline (【退费通知】), a
# link (evil.example) or a number to call.
_PERSON_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z·\- ]{1,30}")
PERSON_NAME_MAX = 30


def person_name(value: str, *, field: str = "name") -> str:
    """A patient's or account holder's name: free text rules, then NFKC (fullwidth letters fold)
    and the person-name pattern, so that what texts carry is a validated name and nothing more."""
    text = unicodedata.normalize("NFKC", clean_text(value, field=field, max_length=PERSON_NAME_MAX))
    text = re.sub(" {2,}", " ", text)
    if not is_person_name(text):
        raise InvalidInput(field, "a name has 1-30 Chinese characters or letters (and · - or spaces)")
    return text


def is_person_name(value: str) -> bool:
    return _PERSON_NAME.fullmatch(value) is not None
