from datetime import UTC, date, datetime

import pytest

from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import InvalidScheme
from skillvoucher.domain.identity import age_on
from skillvoucher.domain.people import CardStatus, TargetGroup
from skillvoucher.domain.schemes import (
    CourseFacts,
    HolderHistory,
    PersonFacts,
    SchemeRules,
    course_unusable_reasons,
    ineligibility_reasons,
    latest_birth_date_for_age,
    qualifying_group,
    redeemable_fen,
)

SCHEME = {
    "code": "TY-2026-IND",
    "name": "太原市重点群体培训券",
    "region": "140100",
    "type": "individual",
    "issuance": "claim",
    "quota": 10,
    "budget_fen": 1_000_000,
    "face_value": {"by_level": {"5": 100_000, "4": 150_000}},
    "validity": {"days": 180, "until": "2026-12-31"},
    "eligibility": {
        "target_groups": ["unemployed", "school_leaver"],
        "exclude_groups": ["employee"],
        "min_age": 16,
        "max_age": 45,
        "max_vouchers_per_year": 2,
    },
    "courses": {"modes": ["offline"]},
    "settlement": {"stages": [{"evidence": "enrolment", "percent": 100}]},
}
TODAY = date(2026, 6, 1)
FRESH = HolderHistory(vouchers_this_year=0, has_open_voucher=False)


def rules() -> SchemeRules:
    return parse_scheme_document(SCHEME).to_rules()


def person(**changes: object) -> PersonFacts:
    values: dict[str, object] = {
        "birth_date": date(2000, 5, 5),
        "household_region": "140105",
        "groups": frozenset({TargetGroup.UNEMPLOYED}),
        "card_status": CardStatus.ACTIVE,
        "employer_credit_code": None,
    }
    values.update(changes)
    return PersonFacts(**values)  # type: ignore[arg-type]


def test_an_unemployed_resident_of_taiyuan_qualifies() -> None:
    assert ineligibility_reasons(rules(), person(), FRESH, TODAY) == []
    assert qualifying_group(rules(), person().groups) is TargetGroup.UNEMPLOYED


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"card_status": CardStatus.NONE}, "social security card"),
        ({"household_region": "140200"}, "household region"),
        ({"groups": frozenset({TargetGroup.DISABLED})}, "target groups"),
        ({"groups": frozenset({TargetGroup.UNEMPLOYED, TargetGroup.EMPLOYEE})}, "excluded"),
        ({"birth_date": date(2011, 1, 1)}, "younger than 16"),
        ({"birth_date": date(1970, 1, 1)}, "older than 45"),
    ],
)
def test_each_rule_gives_its_reason(changes: dict[str, object], reason: str) -> None:
    reasons = ineligibility_reasons(rules(), person(**changes), FRESH, TODAY)
    assert len(reasons) == 1
    assert reason in reasons[0]


def test_history_limits() -> None:
    busy = HolderHistory(vouchers_this_year=2, has_open_voucher=True)
    reasons = ineligibility_reasons(rules(), person(), busy, TODAY)
    assert any("this year" in r for r in reasons)
    assert any("open voucher" in r for r in reasons)


@pytest.mark.parametrize(
    "today", [date(2026, 2, 28), date(2028, 2, 29), date(2027, 3, 1), date(2026, 12, 31)]
)
@pytest.mark.parametrize("age", [16, 18, 45, 60])
def test_birth_date_bound_agrees_with_age(today: date, age: int) -> None:
    bound = latest_birth_date_for_age(today, age)
    assert age_on(bound, today) >= age
    assert age_on(date.fromordinal(bound.toordinal() + 1), today) < age


def course(**changes: object) -> CourseFacts:
    values: dict[str, object] = {
        "occupation_code": "4-10-01-06",
        "skill_level": SkillLevel.LEVEL_4,
        "mode": CourseMode.OFFLINE,
        "institution_credit_code": "52140100MJJFX45C9W",
        "institution_region": "140105",
        "institution_approved": True,
        "price_fen": 180_000,
    }
    values.update(changes)
    return CourseFacts(**values)  # type: ignore[arg-type]


def test_voucher_pays_the_lesser_of_face_value_and_price() -> None:
    assert redeemable_fen(rules(), course()) == 150_000
    assert redeemable_fen(rules(), course(price_fen=90_000)) == 90_000


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"institution_approved": False}, "not approved"),
        ({"mode": CourseMode.ONLINE}, "online"),
        ({"skill_level": SkillLevel.LEVEL_3}, "no value for level 3"),
        ({"institution_region": "110105"}, "province"),
    ],
)
def test_course_rules_give_their_reason(changes: dict[str, object], reason: str) -> None:
    reasons = course_unusable_reasons(rules(), course(**changes))
    assert any(reason in r for r in reasons), reasons


def test_validity_ends_at_the_earlier_of_days_and_date() -> None:
    issued = datetime(2026, 10, 1, tzinfo=UTC)
    assert rules().validity.valid_until(issued) == datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quota": 0}, "quota"),
        ({"face_value": {"fixed_fen": 1, "by_level": {"5": 2}}}, "either fixed_fen or by_level"),
        ({"settlement": {"stages": [{"evidence": "enrolment", "percent": 60}]}}, "add up to 100"),
        ({"region": "999999"}, "region"),
        ({"type": "enterprise"}, "application"),
        ({"surprise": 1}, "surprise"),
        ({"eligibility": {"target_groups": ["astronaut"]}}, "target_groups"),
    ],
)
def test_bad_scheme_documents_are_refused_field_by_field(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidScheme, match=message):
        parse_scheme_document({**SCHEME, **change})
