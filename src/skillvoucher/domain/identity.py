"""Identifiers of people and organisations: resident ID numbers, unified social credit codes and
mainland mobile numbers.

Resident ID numbers and mobile numbers are personal data, so no error message here repeats
them. Note that ``mask_resident_id`` hides exactly the eight birth-date digits: a masked number
shown next to a "birth date … is not a real date" message gives the whole number away, so
callers must not put the two side by side.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from skillvoucher.domain.errors import (
    InvalidCreditCode,
    InvalidInput,
    InvalidMobile,
    InvalidResidentId,
)
from skillvoucher.domain.regions import PROVINCIAL_PREFIXES


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True)
class ResidentId:
    # Left out of repr so that logging a ResidentId does not log the number.
    number: str = field(repr=False)
    region_prefix: str
    birth_date: date
    sex: Sex


# GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_BODY = re.compile(r"[0-9]{17}")
_ID_ASCII_ZEROS = ord("0") * sum(_ID_WEIGHTS)
_EARLIEST_BIRTH_YEAR = 1900


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and letters (common when pasted from Chinese documents)
    # into ASCII; whitespace anywhere is dropped because numbers are often written in groups.
    # ASCII is its own NFKC form: a registry file's millions of plain numbers skip the fold.
    folded = text if text.isascii() else unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).upper()


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character (``0``-``9`` or ``X``) for 17 ASCII digits."""
    if not _ID_BODY.fullmatch(first17):
        raise InvalidResidentId("resident ID: the first 17 characters must be digits")
    # Multiplying the ASCII bytes and subtracting the weighted '0's is several times faster
    # than int() per digit; the demo generator computes millions of these.
    total = sum(map(operator.mul, first17.encode("ascii"), _ID_WEIGHTS)) - _ID_ASCII_ZEROS
    return _ID_CHECK_CHARS[total % 11]


def mask_resident_id(number: str) -> str:
    """Keep the first 6 and last 4 characters: ``140105********123X``.

    Strings of 10 characters or fewer are masked completely.
    """
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Parse an 18-character mainland resident ID number (GB 11643-1999).

    Spaces are removed, full-width characters folded and a trailing ``x`` upper-cased. The
    province prefix, the birth date (a real date, from 1900 up to ``today``, default the
    system date) and the check character are verified. Raises ``InvalidResidentId`` with a
    specific reason that never contains the number itself.
    """
    number = _normalise(text)
    if len(number) != 18:
        if len(number) == 15 and number.isascii() and number.isdigit():
            raise InvalidResidentId(
                "resident ID must be 18 characters; 15-digit first-generation numbers are not "
                "accepted"
            )
        raise InvalidResidentId(f"resident ID must be 18 characters, got {len(number)}")
    body = number[:17]
    if not (body.isascii() and body.isdigit()):
        for position, char in enumerate(body, start=1):
            if not ("0" <= char <= "9"):
                raise InvalidResidentId(f"resident ID character {position} must be a digit")
    if not ("0" <= number[17] <= "9" or number[17] == "X"):
        raise InvalidResidentId("resident ID character 18 must be a digit or X")
    if number[:2] not in PROVINCIAL_PREFIXES:
        raise InvalidResidentId(
            f"resident ID starts with {number[:2]}, which is not a provincial-level region code"
        )
    birth_date = _birth_date(number[6:14], today or date.today())
    expected = resident_id_check_char(number[:17])
    if number[17] != expected:
        raise InvalidResidentId(f"resident ID check digit should be {expected}, not {number[17]}")
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return ResidentId(number=number, region_prefix=number[:6], birth_date=birth_date, sex=sex)


def _birth_date(digits: str, today: date) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise InvalidResidentId(f"birth date {digits} is not a real date") from None
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise InvalidResidentId(f"birth date {digits} is before {_EARLIEST_BIRTH_YEAR}")
    if born > today:
        raise InvalidResidentId(f"birth date {digits} is in the future")
    return born


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on ``day``.

    Someone born on 29 February turns a year older on 1 March in common years. Raises
    ``InvalidInput`` if ``day`` is before ``birth_date``.
    """
    if day < birth_date:
        raise InvalidInput("the day is before the birth date")
    not_had_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - not_had_birthday


# GB 32100-2015: 31 characters (no I, O, Z, S or V), weights 3**i mod 31, MOD 31 check.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUES = {char: value for value, char in enumerate(CREDIT_CODE_CHARS)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_NEVER_USED = frozenset("IOZSV")
_CREDIT_SET = frozenset(CREDIT_CODE_CHARS)


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    if len(first17) != 17 or any(char not in _CREDIT_VALUES for char in first17):
        raise InvalidCreditCode("credit code: need 17 characters from the code's alphabet")
    total = sum(
        _CREDIT_VALUES[char] * weight for char, weight in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def _report_bad_credit_char(code: str) -> None:
    for position, char in enumerate(code, start=1):
        if char in _NEVER_USED:
            raise InvalidCreditCode(
                f"credit code character {position} is {char}, a letter the code never uses "
                "(I, O, Z, S, V)"
            )
        if char not in _CREDIT_VALUES:
            raise InvalidCreditCode(
                f"credit code character {position} must be a digit or a capital letter"
            )


def validate_credit_code(text: str) -> str:
    """Return the normalised 18-character unified social credit code (GB 32100-2015).

    Spaces are removed, full-width characters folded and letters upper-cased. Checks the
    alphabet, that characters 3-8 are a six-digit region code, and the check character.
    Raises ``InvalidCreditCode`` with a specific reason.
    """
    code = _normalise(text)
    if len(code) != 18:
        raise InvalidCreditCode(f"credit code must be 18 characters, got {len(code)}")
    if not _CREDIT_SET.issuperset(code):
        _report_bad_credit_char(code)
    # Central-level bodies use region 100000, which is not a province: check the form only.
    if not code[2:8].isdigit():
        raise InvalidCreditCode("credit code characters 3-8 must be a six-digit region code")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(f"credit code check character should be {expected}, not {code[17]}")
    return code


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_SEPARATORS = re.compile(r"[\s\-]")


def validate_mobile(text: str) -> str:
    """Return the 11-digit mainland mobile number in ``text``.

    Spaces and dashes are removed, full-width characters folded, and a leading ``+86``,
    ``0086`` or ``86`` country code dropped. Raises ``InvalidMobile`` (never echoing the
    number) unless what is left matches ``1[3-9]`` followed by nine digits.
    """
    if len(text) == 11 and _MOBILE.fullmatch(text):
        return text  # as a registry file holds it: nothing to fold, strip or report
    digits = _MOBILE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    for country_code in ("+86", "0086"):
        if digits.startswith(country_code):
            digits = digits[len(country_code) :]
            break
    else:
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
    if not all("0" <= char <= "9" for char in digits):
        raise InvalidMobile("mobile number may contain only digits, spaces, dashes and +86")
    if len(digits) != 11:
        raise InvalidMobile(f"mobile number must have 11 digits, got {len(digits)}")
    if not _MOBILE.fullmatch(digits):
        raise InvalidMobile("mobile number must start with 13 to 19")
    return digits


def mask_mobile(mobile: str) -> str:
    """Keep the first 3 and last 4 digits: ``138****5678``.

    Strings of 7 characters or fewer are masked completely.
    """
    if len(mobile) <= 7:
        return "*" * len(mobile)
    return mobile[:3] + "*" * (len(mobile) - 7) + mobile[-4:]
