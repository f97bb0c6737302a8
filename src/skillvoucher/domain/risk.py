"""Risk flags: explainable rules over institutions, devices and people.

Each rule is a pure function over small fact records and returns flags that carry a rule code,
a severity, a sentence saying why and the figures behind it. A flag is a reason to look, never
a verdict: administrators read the evidence and decide (suspend an institution, claw a voucher
back). Thresholds are named constants, each with the reason for its value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

# --- Thresholds ----------------------------------------------------------------------------------

SPIKE_WINDOW = timedelta(days=7)
SPIKE_BASELINE_WEEKS = 8  # two months of history: long enough to smooth a busy week or two
SPIKE_MIN_ENROLMENTS = 20  # below one small class a week, a jump is noise, not a pattern
SPIKE_FACTOR = 3.0  # three times the usual week: more than a new course starting
SPIKE_HIGH_FACTOR = 6.0

RATE_MIN_SAMPLE = 20  # rates of fewer enrolments swing by 5 points per person
RATE_MARGIN = 0.25  # 25 points above the rest of the region: beyond a better school's edge
RATE_HIGH_MARGIN = 0.40

SHARED_MOBILE_MIN_HOLDERS = 3  # a couple sharing a phone is common; three holders is not
SHARED_MOBILE_HIGH_HOLDERS = 6

DEVICE_WINDOW = timedelta(days=30)
DEVICE_MIN_INSTITUTIONS = 2  # a kiosk belongs to one school; seen at two, it travels
DEVICE_MIN_PEOPLE = 10  # a visiting teacher's phone checks in a few people, not a class
DEVICE_HIGH_INSTITUTIONS = 3

NEW_INSTITUTION_AGE = timedelta(days=90)
# Nothing records the approval date: the institution's created_at (first import into the
# catalogue, which holds only approved or pending institutions) stands in for it.
NEW_INSTITUTION_MIN_ENROLMENTS = 50  # two full classes within its first three months
NEW_INSTITUTION_HIGH_ENROLMENTS = 150

REPEAT_MIN_ENROLMENTS = 2  # the same occupation and level twice is already a second payment
REPEAT_HIGH_ENROLMENTS = 3

# Attendance refused as impossible (domain/attendance.py), counted per institution over a week.
# An honest institution meets a refusal now and then (a holder enrolled at two schools, a
# misconfigured course date, a device clock); ten in a week is a habit, and thirty is a device
# or an upload producing them. A replayed crowd at a door is refused from its sixth person on,
# so one such upload of a class already crosses the line, as it should.
REFUSED_ATTENDANCE_WINDOW = timedelta(days=7)
REFUSED_ATTENDANCE_MIN = 10
REFUSED_ATTENDANCE_HIGH = 30


class RuleCode(StrEnum):
    ENROLMENT_SPIKE = "enrolment_spike"
    HIGH_COMPLETION_RATE = "high_completion_rate"
    HIGH_CERTIFICATE_RATE = "high_certificate_rate"
    SHARED_MOBILE = "shared_mobile"
    SHARED_DEVICE = "shared_device"
    NEW_INSTITUTION_VOLUME = "new_institution_volume"
    REPEATED_TRAINING = "repeated_training"
    IMPOSSIBLE_ATTENDANCE = "repeated_impossible_attendance"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"

    @property
    def rank(self) -> int:
        return 0 if self is Severity.HIGH else 1


class SubjectType(StrEnum):
    INSTITUTION = "institution"
    PERSON = "person"
    MOBILE = "mobile"
    DEVICE = "device"


Figure = int | float | str | list[str]


@dataclass(frozen=True)
class RiskFlag:
    rule: RuleCode
    severity: Severity
    subject_type: SubjectType
    subject_id: str  # institution or person id, device id, or the masked mobile number
    subject_label: str
    region_code: str
    reason: str
    evidence: dict[str, Figure] = field(default_factory=dict)


def by_severity(flags: Iterable[RiskFlag]) -> list[RiskFlag]:
    """High first; then by rule and subject, so that the list reads the same every time."""
    return sorted(flags, key=lambda f: (f.severity.rank, f.rule.value, f.subject_label))


# --- Facts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstitutionFacts:
    institution_id: uuid.UUID
    credit_code: str
    name: str
    region_code: str
    created_at: datetime
    enrolments_last_week: int
    enrolments_baseline: int  # in the SPIKE_BASELINE_WEEKS weeks before the last one
    enrolments_since_created: int
    enrolled: int  # vouchers ever enrolled there (the rates' denominator)
    completed: int
    certified: int


@dataclass(frozen=True)
class SharedMobile:
    mobile_masked: str
    region_code: str
    person_ids: Sequence[uuid.UUID]


@dataclass(frozen=True)
class DeviceUse:
    device_id: str
    region_code: str
    people: int
    institutions: int
    events: int


@dataclass(frozen=True)
class RepeatedTraining:
    person_id: uuid.UUID
    person_masked_id: str
    region_code: str
    occupation_code: str
    skill_level: str
    enrolments: int
    institutions: int


@dataclass(frozen=True)
class RefusedAttendance:
    """The attendance events refused at one institution within REFUSED_ATTENDANCE_WINDOW."""

    institution_id: uuid.UUID
    credit_code: str
    name: str
    region_code: str
    by_rule: dict[str, int]  # the refusing rule's code -> refusals
    by_device: dict[str, int]  # device id -> refusals (events without a device are left out)
    first_at: datetime  # when the first and the last of them were refused
    last_at: datetime

    @property
    def refusals(self) -> int:
        return sum(self.by_rule.values())


# --- Rules ---------------------------------------------------------------------------------------


def _institution_flag(
    facts: InstitutionFacts,
    rule: RuleCode,
    severity: Severity,
    reason: str,
    evidence: dict[str, Figure],
) -> RiskFlag:
    return RiskFlag(
        rule,
        severity,
        SubjectType.INSTITUTION,
        str(facts.institution_id),
        f"{facts.name} ({facts.credit_code})",
        facts.region_code,
        reason,
        evidence,
    )


def enrolment_spikes(institutions: Iterable[InstitutionFacts]) -> list[RiskFlag]:
    """Institutions enrolling far more in the last 7 days than in their usual week."""
    flags = []
    for f in institutions:
        mean = f.enrolments_baseline / SPIKE_BASELINE_WEEKS
        recent = f.enrolments_last_week
        if recent < SPIKE_MIN_ENROLMENTS or recent < SPIKE_FACTOR * mean:
            continue
        ratio = recent / mean if mean else None
        high = ratio is None or ratio >= SPIKE_HIGH_FACTOR
        reason = (
            f"{recent} enrolments in the last 7 days against a weekly mean of {mean:.1f} "
            f"over the previous {SPIKE_BASELINE_WEEKS} weeks"
        )
        flags.append(
            _institution_flag(
                f,
                RuleCode.ENROLMENT_SPIKE,
                Severity.HIGH if high else Severity.MEDIUM,
                reason,
                {
                    "enrolments_last_7_days": recent,
                    "weekly_mean_before": round(mean, 1),
                    "baseline_weeks": SPIKE_BASELINE_WEEKS,
                    "threshold_factor": SPIKE_FACTOR,
                },
            )
        )
    return flags


def _rest_of_region(
    f: InstitutionFacts, totals: dict[str, tuple[int, int, int]]
) -> tuple[int, int, int]:
    enrolled, completed, certified = totals[_city(f.region_code)]
    return enrolled - f.enrolled, completed - f.completed, certified - f.certified


def _city(region_code: str) -> str:
    return region_code[:4] + "00"


def _region_totals(institutions: Sequence[InstitutionFacts]) -> dict[str, tuple[int, int, int]]:
    totals: dict[str, tuple[int, int, int]] = {}
    for f in institutions:
        e, c, r = totals.get(_city(f.region_code), (0, 0, 0))
        totals[_city(f.region_code)] = (e + f.enrolled, c + f.completed, r + f.certified)
    return totals


def high_outcome_rates(institutions: Sequence[InstitutionFacts]) -> list[RiskFlag]:
    """Completion and certificate rates well above the rest of the institution's city.

    The comparison leaves the institution itself out, so a dominant school cannot hide by
    setting its city's rate; both sides need RATE_MIN_SAMPLE enrolments.
    """
    totals = _region_totals(institutions)
    flags = []
    for f in institutions:
        if f.enrolled < RATE_MIN_SAMPLE:
            continue
        others, others_completed, others_certified = _rest_of_region(f, totals)
        if others < RATE_MIN_SAMPLE:
            continue
        for rule, count, others_count, what in (
            (RuleCode.HIGH_COMPLETION_RATE, f.completed, others_completed, "completion"),
            (RuleCode.HIGH_CERTIFICATE_RATE, f.certified, others_certified, "certificate"),
        ):
            rate, region_rate = count / f.enrolled, others_count / others
            if rate - region_rate < RATE_MARGIN:
                continue
            reason = (
                f"{what} rate {rate:.0%} ({count} of {f.enrolled} enrolled) against "
                f"{region_rate:.0%} at the other institutions of the city ({others_count} of "
                f"{others})"
            )
            severity = Severity.HIGH if rate - region_rate >= RATE_HIGH_MARGIN else Severity.MEDIUM
            flags.append(
                _institution_flag(
                    f,
                    rule,
                    severity,
                    reason,
                    {
                        "rate_percent": round(rate * 100, 1),
                        "region_rate_percent": round(region_rate * 100, 1),
                        "count": count,
                        "enrolled": f.enrolled,
                        "region_count": others_count,
                        "region_enrolled": others,
                        "margin_points": round(RATE_MARGIN * 100),
                    },
                )
            )
    return flags


def new_institutions_with_volume(
    institutions: Iterable[InstitutionFacts], now: datetime
) -> list[RiskFlag]:
    """Institutions that entered the catalogue recently and already enrol in large numbers."""
    flags = []
    for f in institutions:
        age = now - f.created_at
        if age > NEW_INSTITUTION_AGE or f.enrolments_since_created < NEW_INSTITUTION_MIN_ENROLMENTS:
            continue
        high = f.enrolments_since_created >= NEW_INSTITUTION_HIGH_ENROLMENTS
        reason = (
            f"{f.enrolments_since_created} enrolments within {age.days} days of entering the "
            "catalogue (its creation date stands in for the approval date, which is not recorded)"
        )
        flags.append(
            _institution_flag(
                f,
                RuleCode.NEW_INSTITUTION_VOLUME,
                Severity.HIGH if high else Severity.MEDIUM,
                reason,
                {
                    "enrolments": f.enrolments_since_created,
                    "days_since_created": age.days,
                    "created_at": f.created_at.isoformat(),
                    "threshold_enrolments": NEW_INSTITUTION_MIN_ENROLMENTS,
                },
            )
        )
    return flags


def shared_mobiles(shares: Iterable[SharedMobile]) -> list[RiskFlag]:
    """One mobile number behind several holders of live vouchers."""
    flags = []
    for s in shares:
        holders = len(s.person_ids)
        if holders < SHARED_MOBILE_MIN_HOLDERS:
            continue
        flags.append(
            RiskFlag(
                RuleCode.SHARED_MOBILE,
                Severity.HIGH if holders >= SHARED_MOBILE_HIGH_HOLDERS else Severity.MEDIUM,
                SubjectType.MOBILE,
                s.mobile_masked,
                s.mobile_masked,
                s.region_code,
                f"{holders} holders of live vouchers share the mobile number {s.mobile_masked}",
                {"holders": holders, "person_ids": sorted(str(p) for p in s.person_ids)},
            )
        )
    return flags


def shared_devices(uses: Iterable[DeviceUse]) -> list[RiskFlag]:
    """An attendance device checking in many people at more than one institution."""
    flags = []
    for u in uses:
        if u.institutions < DEVICE_MIN_INSTITUTIONS or u.people < DEVICE_MIN_PEOPLE:
            continue
        flags.append(
            RiskFlag(
                RuleCode.SHARED_DEVICE,
                Severity.HIGH if u.institutions >= DEVICE_HIGH_INSTITUTIONS else Severity.MEDIUM,
                SubjectType.DEVICE,
                u.device_id,
                u.device_id,
                u.region_code,
                f"device {u.device_id} checked in {u.people} people at {u.institutions} "
                f"institutions in the last {DEVICE_WINDOW.days} days",
                {
                    "people": u.people,
                    "institutions": u.institutions,
                    "events": u.events,
                    "window_days": DEVICE_WINDOW.days,
                },
            )
        )
    return flags


def repeated_trainings(repeats: Iterable[RepeatedTraining]) -> list[RiskFlag]:
    """A person enrolled more than once in the same occupation and skill level."""
    flags = []
    for r in repeats:
        if r.enrolments < REPEAT_MIN_ENROLMENTS:
            continue
        flags.append(
            RiskFlag(
                RuleCode.REPEATED_TRAINING,
                Severity.HIGH if r.enrolments >= REPEAT_HIGH_ENROLMENTS else Severity.MEDIUM,
                SubjectType.PERSON,
                str(r.person_id),
                r.person_masked_id,
                r.region_code,
                f"{r.enrolments} enrolments in occupation {r.occupation_code} at level "
                f"{r.skill_level}, at {r.institutions} institution(s)",
                {
                    "enrolments": r.enrolments,
                    "institutions": r.institutions,
                    "occupation_code": r.occupation_code,
                    "skill_level": r.skill_level,
                },
            )
        )
    return flags


def repeated_impossible_attendance(refusals: Iterable[RefusedAttendance]) -> list[RiskFlag]:
    """An institution whose check-ins were refused as impossible again and again."""
    flags = []
    for r in refusals:
        if r.refusals < REFUSED_ATTENDANCE_MIN:
            continue
        rules = ", ".join(f"{n} {rule}" for rule, n in sorted(r.by_rule.items()))
        flags.append(
            RiskFlag(
                RuleCode.IMPOSSIBLE_ATTENDANCE,
                Severity.HIGH if r.refusals >= REFUSED_ATTENDANCE_HIGH else Severity.MEDIUM,
                SubjectType.INSTITUTION,
                str(r.institution_id),
                f"{r.name} ({r.credit_code})",
                r.region_code,
                f"{r.refusals} attendance events refused as impossible in the last "
                f"{REFUSED_ATTENDANCE_WINDOW.days} days ({rules})",
                {
                    "refusals": r.refusals,
                    "refusals_by_rule": [f"{rule}: {n}" for rule, n in sorted(r.by_rule.items())],
                    "devices": [
                        f"{device}: {n}"
                        for device, n in sorted(r.by_device.items(), key=lambda d: (-d[1], d[0]))
                    ],
                    "first_refused_at": r.first_at.isoformat(),
                    "last_refused_at": r.last_at.isoformat(),
                    "window_days": REFUSED_ATTENDANCE_WINDOW.days,
                    "threshold_refusals": REFUSED_ATTENDANCE_MIN,
                },
            )
        )
    return flags
