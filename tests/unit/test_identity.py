"""Resident IDs, unified social credit codes and mobile numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillvoucher.domain.errors import (
    InvalidCreditCode,
    InvalidInput,
    InvalidMobile,
    InvalidResidentId,
)
from skillvoucher.domain.identity import (
    CREDIT_CODE_CHARS,
    Sex,
    age_on,
    credit_code_check_char,
    mask_mobile,
    mask_resident_id,
    parse_resident_id,
    resident_id_check_char,
    validate_credit_code,
    validate_mobile,
)
from skillvoucher.domain.regions import PROVINCIAL_PREFIXES

TODAY = date(2025, 6, 1)
# The example number printed in GB 11643-1999 itself.
STANDARD_EXAMPLE = "11010519491231002X"


def with_check(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


# --- Resident ID -------------------------------------------------------------------------------


def test_standard_example_parses() -> None:
    parsed = parse_resident_id(STANDARD_EXAMPLE, today=TODAY)
    assert parsed.number == STANDARD_EXAMPLE
    assert parsed.region_prefix == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex is Sex.FEMALE  # 17th digit 2 is even


def test_male_from_odd_17th_digit() -> None:
    number = with_check("14010519900307123")
    assert parse_resident_id(number, today=TODAY).sex is Sex.MALE


@pytest.mark.parametrize(
    "text",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "110105\u300019491231002X",
        "１１０１０５１９４９１２３１００２Ｘ",
    ],
)
def test_spaces_lower_case_and_full_width_are_normalised(text: str) -> None:
    assert parse_resident_id(text, today=TODAY).number == STANDARD_EXAMPLE


def test_repr_does_not_show_the_number() -> None:
    assert STANDARD_EXAMPLE not in repr(parse_resident_id(STANDARD_EXAMPLE, today=TODAY))


@pytest.mark.parametrize("wrong", ["0", "1", "5", "9"])
def test_altered_check_digit_is_rejected_with_the_right_one(wrong: str) -> None:
    with pytest.raises(InvalidResidentId, match="check digit should be X"):
        parse_resident_id(STANDARD_EXAMPLE[:17] + wrong, today=TODAY)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("11010519491231002", "must be 18 characters, got 17"),
        ("1101051949123100201", "must be 18 characters, got 19"),
        ("110105491231002", "15-digit first-generation"),
        ("1101051949123100AX", "character 17 must be a digit"),
        ("11010519491231002Y", "character 18 must be a digit or X"),
        ("99010519491231002X", "99, which is not a provincial-level region code"),
        ("10010519491231002X", "10, which is not a provincial-level region code"),
    ],
)
def test_malformed_numbers_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidResidentId, match=reason):
        parse_resident_id(text, today=TODAY)


@pytest.mark.parametrize(
    ("birth", "reason"),
    [
        ("19990231", "birth date 19990231 is not a real date"),
        ("19991301", "birth date 19991301 is not a real date"),
        ("20010229", "birth date 20010229 is not a real date"),
        ("18991231", "birth date 18991231 is before 1900"),
        ("20250602", "birth date 20250602 is in the future"),
    ],
)
def test_bad_birth_dates_are_rejected(birth: str, reason: str) -> None:
    # A correct check character, so the date is the only fault.
    with pytest.raises(InvalidResidentId, match=reason):
        parse_resident_id(with_check(f"140105{birth}123"), today=TODAY)


def test_leap_day_and_today_are_accepted() -> None:
    assert parse_resident_id(with_check("14010520000229123"), today=TODAY).birth_date == date(
        2000, 2, 29
    )
    assert parse_resident_id(with_check("14010520250601123"), today=TODAY).birth_date == TODAY


def test_future_is_relative_to_the_system_date_by_default() -> None:
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(InvalidResidentId, match="in the future"):
        parse_resident_id(with_check(f"140105{tomorrow:%Y%m%d}123"))


def test_check_char_rejects_non_digits() -> None:
    with pytest.raises(InvalidResidentId):
        resident_id_check_char("1101051949123100")
    with pytest.raises(InvalidResidentId):
        resident_id_check_char("1101051949123100Ａ")


def test_mask_resident_id() -> None:
    assert mask_resident_id("14010519900307123X") == "140105********123X"
    assert mask_resident_id("1234567890") == "**********"
    assert mask_resident_id("") == ""


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
provinces = st.sampled_from(sorted(PROVINCIAL_PREFIXES))
four_digits = st.text("0123456789", min_size=4, max_size=4)
three_digits = st.text("0123456789", min_size=3, max_size=3)


@st.composite
def valid_resident_ids(draw: st.DrawFn) -> str:
    body = draw(provinces) + draw(four_digits) + f"{draw(birth_dates):%Y%m%d}" + draw(three_digits)
    return with_check(body)


@given(valid_resident_ids())
def test_numbers_with_computed_check_char_parse(number: str) -> None:
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed.number == number
    assert parsed.sex is (Sex.MALE if int(number[16]) % 2 else Sex.FEMALE)


@given(valid_resident_ids(), st.integers(0, 16), st.sampled_from("0123456789"))
def test_any_single_digit_change_in_the_body_changes_the_check_char(
    number: str, position: int, digit: str
) -> None:
    """MOD 11-2: every weight is non-zero mod the prime 11 and two digits differ by less than
    11, so replacing any one of the first 17 digits by another digit changes the check char."""
    if number[position] == digit:
        return
    mutated = number[:position] + digit + number[position + 1 : 17]
    assert resident_id_check_char(mutated) != number[17]
    with pytest.raises(InvalidResidentId) as caught:
        parse_resident_id(mutated + number[17], today=TODAY)
    assert mutated not in caught.value.message


@given(valid_resident_ids(), st.sampled_from("0123456789X"))
def test_any_other_check_char_is_rejected(number: str, check: str) -> None:
    if check != number[17]:
        with pytest.raises(InvalidResidentId, match="check digit"):
            parse_resident_id(number[:17] + check, today=TODAY)


@given(valid_resident_ids(), st.integers(0, 15))
def test_swapping_two_adjacent_different_body_digits_is_detected(
    number: str, position: int
) -> None:
    """Consecutive weights differ mod 11 (2 is a primitive root of 11), so swapping two
    different neighbouring digits among the first 17 changes the check char."""
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 : 17]
    assert resident_id_check_char(swapped) != number[17]


@given(st.text(max_size=30))
def test_error_messages_never_contain_the_number(text: str) -> None:
    cleaned = "".join(text.split()).upper()
    try:
        parse_resident_id(text, today=TODAY)
    except InvalidResidentId as exc:
        message = exc.message
    else:
        return
    assert len(cleaned) < 10 or cleaned not in message


# --- Age ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(1990, 6, 1), date(2025, 5, 31), 34),
        (date(1990, 6, 1), date(2025, 6, 1), 35),
        (date(1990, 6, 1), date(1990, 6, 1), 0),
        (date(2000, 2, 29), date(2025, 2, 28), 24),
        (date(2000, 2, 29), date(2025, 3, 1), 25),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
    ],
)
def test_age_on(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(InvalidInput):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


# --- Unified social credit code ----------------------------------------------------------------

# Published codes of well-known companies; each check character was recomputed by hand with the
# GB 32100 weights before being used here.
PUBLISHED_CODES = ["91110000100017643K", "914403001922038216", "91110108551385082Q"]


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_published_credit_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code
    assert credit_code_check_char(code[:17]) == code[17]


def test_credit_code_is_normalised() -> None:
    assert validate_credit_code(" 91110000 100017643k ") == "91110000100017643K"


def test_check_value_31_maps_to_zero() -> None:
    # Search the 17-character bodies ending in 0..Y for one whose weighted sum is 0 mod 31.
    bodies = [f"9111000010001764{char}" for char in CREDIT_CODE_CHARS]
    zero = [body for body in bodies if credit_code_check_char(body) == "0"]
    assert len(zero) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("91110000100017643", "must be 18 characters, got 17"),
        ("91110000100017643KK", "must be 18 characters, got 19"),
        ("9111000010001764IK", "character 17 is I, a letter the code never uses"),
        ("91110000100O17643K", "character 12 is O"),
        ("91110000100017643-", "character 18 must be a digit or a capital letter"),
        ("911A0000100017643K", "characters 3-8 must be a six-digit region code"),
        ("91110000100017643J", "check character should be K, not J"),
    ],
)
def test_bad_credit_codes_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidCreditCode, match=reason):
        validate_credit_code(text)


credit_chars = st.sampled_from(CREDIT_CODE_CHARS)


@st.composite
def valid_credit_codes(draw: st.DrawFn) -> str:
    head = draw(credit_chars) + draw(credit_chars)
    region = draw(st.text("0123456789", min_size=6, max_size=6))
    body = "".join(draw(credit_chars) for _ in range(9))
    first17 = head + region + body
    return first17 + credit_code_check_char(first17)


@given(valid_credit_codes(), st.integers(0, 17), credit_chars)
def test_any_single_character_change_of_a_credit_code_is_detected(
    code: str, position: int, char: str
) -> None:
    """Weights 3**i mod 31 are non-zero mod the prime 31 and two values differ by less than
    31, so replacing any one character by another from the alphabet breaks the check."""
    assert validate_credit_code(code) == code
    if code[position] == char:
        return
    mutated = code[:position] + char + code[position + 1 :]
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(mutated)


# --- Mobile ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "008613812345678",
        "8613812345678",
        "１３８１２３４５６７８",
    ],
)
def test_mobile_variants_are_normalised(text: str) -> None:
    assert validate_mobile(text) == "13812345678"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1381234567", "must have 11 digits, got 10"),
        ("138123456789", "must have 11 digits, got 12"),
        ("12812345678", "must start with 13 to 19"),
        ("03512345678", "must start with 13 to 19"),
        ("138.1234.5678", "only digits"),
        ("", "must have 11 digits, got 0"),
    ],
)
def test_bad_mobiles_say_why_without_the_number(text: str, reason: str) -> None:
    with pytest.raises(InvalidMobile, match=reason) as caught:
        validate_mobile(text)
    assert not text or text not in caught.value.message


def test_mask_mobile() -> None:
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("1234567") == "*******"
