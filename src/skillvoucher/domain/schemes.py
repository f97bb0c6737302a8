"""Schemes: who may hold a voucher, what it pays for, and how it is settled.

Rules are plain data so that the same scheme evaluates in Python for one person and compiles
to SQL for bulk targeting (persistence/eligibility_sql.py); both read these fields only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.identity import age_on
from skillvoucher.domain.people import CardStatus, TargetGroup
from skillvoucher.domain.regions import is_within
from skillvoucher.domain.settlement import Stage
from skillvoucher.domain.timekeeping import end_of_local_day


class SchemeType(StrEnum):
    INDIVIDUAL = "individual"  # target groups apply or are pushed vouchers
    ENTERPRISE = "enterprise"  # an enterprise requests vouchers for named employees


class IssuanceMode(StrEnum):
    PUSH = "push"  # issued to every eligible person at launch
    APPLICATION = "application"  # issued when a person (or their enterprise) applies
    CLAIM = "claim"  # first come, first served from the quota


class SchemeStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True)
class Eligibility:
    target_groups: frozenset[TargetGroup] = frozenset()  # any of; empty means anyone
    excluded_groups: frozenset[TargetGroup] = frozenset()
    min_age: int | None = None
    max_age: int | None = None
    household_regions: tuple[str, ...] = ()  # empty means the scheme's own region
    max_vouchers_per_year: int | None = None
    one_active_voucher: bool = True
    once_per_occupation_level: bool = True


@dataclass(frozen=True)
class CourseRules:
    occupations: frozenset[str] = frozenset()  # empty means any occupation
    levels: frozenset[SkillLevel] = frozenset()
    modes: frozenset[CourseMode] = frozenset()
    institutions: frozenset[str] = frozenset()  # credit codes; empty means any approved one


@dataclass(frozen=True)
class FaceValue:
    """Fixed, or by the certificate level of the course the voucher pays for."""

    fixed_fen: int | None = None
    by_level: Mapping[SkillLevel, int] = field(default_factory=dict)

    @property
    def max_fen(self) -> int:
        """What issuance commits: the most this voucher could ever pay out."""
        if self.fixed_fen is not None:
            return self.fixed_fen
        return max(self.by_level.values())

    def for_level(self, level: SkillLevel) -> int | None:
        if self.fixed_fen is not None:
            return self.fixed_fen
        return self.by_level.get(level)


@dataclass(frozen=True)
class Validity:
    days: int | None = None
    until: date | None = None  # inclusive, Asia/Shanghai

    def valid_until(self, issued_at: datetime) -> datetime:
        ends: list[datetime] = []
        if self.days is not None:
            ends.append(issued_at + timedelta(days=self.days))
        if self.until is not None:
            ends.append(end_of_local_day(self.until))
        return min(ends)


@dataclass(frozen=True)
class SchemeRules:
    code: str
    name: str
    region_code: str
    type: SchemeType
    issuance: IssuanceMode
    quota: int
    budget_fen: int
    face_value: FaceValue
    validity: Validity
    eligibility: Eligibility
    courses: CourseRules
    stages: tuple[Stage, ...]
    min_attendance_percent: int


@dataclass(frozen=True)
class PersonFacts:
    birth_date: date
    household_region: str
    groups: frozenset[TargetGroup]
    card_status: CardStatus
    employer_credit_code: str | None


@dataclass(frozen=True)
class HolderHistory:
    vouchers_this_year: int
    has_open_voucher: bool


def ineligibility_reasons(
    rules: SchemeRules,
    person: PersonFacts,
    history: HolderHistory,
    today: date,
    enterprise_credit_code: str | None = None,
) -> list[str]:
    """Every reason ``person`` may not receive a voucher of ``rules``; empty means eligible."""
    reasons: list[str] = []
    elig = rules.eligibility
    if person.card_status is not CardStatus.ACTIVE:
        reasons.append("no active electronic social security card")
    scopes = elig.household_regions or (rules.region_code,)
    if not any(is_within(person.household_region, scope) for scope in scopes):
        reasons.append("household region outside the scheme")
    if elig.target_groups and not (person.groups & elig.target_groups):
        reasons.append("not in any of the scheme's target groups")
    if person.groups & elig.excluded_groups:
        reasons.append("in an excluded group")
    age = age_on(person.birth_date, today)
    if elig.min_age is not None and age < elig.min_age:
        reasons.append(f"younger than {elig.min_age}")
    if elig.max_age is not None and age > elig.max_age:
        reasons.append(f"older than {elig.max_age}")
    if elig.max_vouchers_per_year is not None and (
        history.vouchers_this_year >= elig.max_vouchers_per_year
    ):
        reasons.append(f"already received {history.vouchers_this_year} vouchers this year")
    if elig.one_active_voucher and history.has_open_voucher:
        reasons.append("already holds an open voucher")
    if not employed_by_requester(rules, person, enterprise_credit_code):
        reasons.append(NOT_AN_EMPLOYEE)
    return reasons


NOT_AN_EMPLOYEE = "not an employee of the requesting enterprise"


def employed_by_requester(
    rules: SchemeRules, person: PersonFacts, enterprise_credit_code: str | None
) -> bool:
    """Whether an enterprise scheme's voucher is asked for by the person's own employer (any
    other scheme: always)."""
    return rules.type is not SchemeType.ENTERPRISE or (
        enterprise_credit_code is not None and person.employer_credit_code == enterprise_credit_code
    )


def qualifying_group(rules: SchemeRules, groups: frozenset[TargetGroup]) -> TargetGroup | None:
    """The target group under which a person qualified (for statistics by group): the first,
    in the fixed order of ``TargetGroup``, of their groups that the scheme targets."""
    candidates = (
        groups & rules.eligibility.target_groups if rules.eligibility.target_groups else groups
    )
    return next((g for g in TargetGroup if g in candidates), None)


@dataclass(frozen=True)
class CourseFacts:
    occupation_code: str
    skill_level: SkillLevel
    mode: CourseMode
    institution_credit_code: str
    institution_region: str
    institution_approved: bool
    price_fen: int
    course_approved: bool = True  # an administrator may refuse one course of an institution


def course_unusable_reasons(rules: SchemeRules, course: CourseFacts) -> list[str]:
    """Every reason a voucher of ``rules`` cannot pay for ``course``; empty means usable."""
    reasons: list[str] = []
    c = rules.courses
    if not course.institution_approved:
        reasons.append("the institution is not approved")
    if not course.course_approved:
        reasons.append("the course is not approved")
    if not is_within(course.institution_region, rules.region_code[:2] + "0000"):
        reasons.append("the institution is outside the scheme's province")
    if c.institutions and course.institution_credit_code not in c.institutions:
        reasons.append("the institution is not on the scheme's list")
    if c.occupations and course.occupation_code not in c.occupations:
        reasons.append(f"occupation {course.occupation_code} is not covered")
    if c.levels and course.skill_level not in c.levels:
        reasons.append(f"skill level {course.skill_level.value} is not covered")
    if c.modes and course.mode not in c.modes:
        reasons.append(f"{course.mode.value} courses are not covered")
    if rules.face_value.for_level(course.skill_level) is None:
        reasons.append(f"the scheme sets no value for level {course.skill_level.value}")
    return reasons


@dataclass(frozen=True)
class UsableCourses:
    """``course_unusable_reasons`` turned into bounds a catalogue query can apply: a course is
    usable when its institution lies in ``institution_region_prefix`` and every non-empty set
    contains the course's value."""

    institution_region_prefix: str
    institutions: frozenset[str]
    occupations: frozenset[str]
    levels: frozenset[SkillLevel]
    modes: frozenset[CourseMode]


def usable_courses(rules: SchemeRules) -> UsableCourses:
    valued = frozenset(lvl for lvl in SkillLevel if rules.face_value.for_level(lvl) is not None)
    c = rules.courses
    return UsableCourses(
        institution_region_prefix=rules.region_code[:2],
        institutions=c.institutions,
        occupations=c.occupations,
        levels=(c.levels & valued) if c.levels else valued,
        modes=c.modes,
    )


def redeemable_fen(rules: SchemeRules, course: CourseFacts) -> int:
    """What the voucher pays: min(face value for the course's level, course price)."""
    face = rules.face_value.for_level(course.skill_level)
    if face is None:
        return 0
    return min(face, course.price_fen)


def latest_birth_date_for_age(today: date, age: int) -> date:
    """The latest birth date of someone who is at least ``age`` years old on ``today``.

    The SQL path compares birth dates with this bound, so it must agree with ``age_on``
    exactly, including on 29 February (the day before 1 March in a common year).
    """
    year = today.year - age
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return date(year, 2, 28)
