"""The risk rules: each fires with its evidence at its threshold and stays quiet below it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from skillvoucher.domain import risk
from skillvoucher.domain.risk import RuleCode, Severity

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def institution(**fields: object) -> risk.InstitutionFacts:
    base = risk.InstitutionFacts(
        institution_id=uuid.uuid4(),
        credit_code="52140100MJY0000001",
        name="晋阳学校",
        region_code="140105",
        created_at=NOW - timedelta(days=400),
        enrolments_last_week=0,
        enrolments_baseline=0,
        enrolments_since_created=0,
        enrolled=0,
        completed=0,
        certified=0,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_enrolment_spike_is_flagged_with_last_week_against_the_weekly_mean() -> None:
    spiking = institution(enrolments_last_week=42, enrolments_baseline=48)  # mean 6
    [flag] = risk.enrolment_spikes([spiking])
    assert flag.rule is RuleCode.ENROLMENT_SPIKE
    assert flag.subject_id == str(spiking.institution_id)
    assert "42 enrolments in the last 7 days against a weekly mean of 6.0" in flag.reason
    assert flag.evidence["enrolments_last_7_days"] == 42
    assert flag.evidence["weekly_mean_before"] == 6.0
    assert flag.severity is Severity.HIGH  # 7 times the usual week


def test_enrolment_spike_needs_both_the_factor_and_the_minimum() -> None:
    assert risk.enrolment_spikes([institution(enrolments_last_week=19)]) == []  # below minimum
    usual = institution(enrolments_last_week=40, enrolments_baseline=8 * 14)  # 2.9 × mean 14
    assert risk.enrolment_spikes([usual]) == []
    [moderate] = risk.enrolment_spikes(
        [institution(enrolments_last_week=45, enrolments_baseline=8 * 14)]
    )
    assert moderate.severity is Severity.MEDIUM


def _city_of(rate_completed: int, rate_certified: int) -> list[risk.InstitutionFacts]:
    suspect = institution(
        name="可疑学校", enrolled=40, completed=rate_completed, certified=rate_certified
    )
    others = institution(
        name="普通学校", region_code="140106", enrolled=100, completed=50, certified=40
    )
    return [suspect, others]


def test_completion_and_certificate_rates_well_above_the_rest_of_the_city_are_flagged() -> None:
    flags = risk.high_outcome_rates(_city_of(rate_completed=39, rate_certified=38))
    by_rule = {f.rule: f for f in flags}
    assert set(by_rule) == {RuleCode.HIGH_COMPLETION_RATE, RuleCode.HIGH_CERTIFICATE_RATE}
    completion = by_rule[RuleCode.HIGH_COMPLETION_RATE]
    assert completion.subject_label.startswith("可疑学校")
    assert completion.evidence["rate_percent"] == 97.5
    assert completion.evidence["region_rate_percent"] == 50.0
    assert completion.evidence["region_enrolled"] == 100  # the institution itself left out
    assert "completion rate 98% (39 of 40 enrolled) against 50%" in completion.reason
    assert by_rule[RuleCode.HIGH_CERTIFICATE_RATE].severity is Severity.HIGH  # 95% vs 40%


def test_rates_within_the_margin_or_on_a_small_sample_are_not_flagged() -> None:
    # 70% against 50% completion, 60% against 40% certificates: both under 25 points.
    assert risk.high_outcome_rates(_city_of(rate_completed=28, rate_certified=24)) == []
    tiny = [
        institution(enrolled=19, completed=19, certified=19),
        institution(region_code="140106", enrolled=100, completed=10, certified=10),
    ]
    assert risk.high_outcome_rates(tiny) == []
    alone = [institution(enrolled=100, completed=100, certified=100)]  # nothing to compare with
    assert risk.high_outcome_rates(alone) == []


def test_rates_compare_within_the_same_city_only() -> None:
    suspect = institution(enrolled=40, completed=40, certified=40)
    elsewhere = institution(region_code="140200", enrolled=100, completed=10, certified=10)
    assert risk.high_outcome_rates([suspect, elsewhere]) == []


def test_shared_mobile_is_flagged_from_three_holders_with_the_number_masked() -> None:
    people = [uuid.uuid4() for _ in range(3)]
    [flag] = risk.shared_mobiles([risk.SharedMobile("139****0001", "140105", people)])
    assert flag.rule is RuleCode.SHARED_MOBILE
    assert flag.subject_id == "139****0001"
    assert flag.evidence["holders"] == 3
    assert flag.evidence["person_ids"] == sorted(str(p) for p in people)
    assert flag.reason == "3 holders of live vouchers share the mobile number 139****0001"
    assert risk.shared_mobiles([risk.SharedMobile("139****0002", "140105", people[:2])]) == []


def test_device_used_by_many_people_at_several_institutions_is_flagged() -> None:
    [flag] = risk.shared_devices([risk.DeviceUse("KIOSK-7", "140105", 12, 3, 80)])
    assert flag.rule is RuleCode.SHARED_DEVICE
    assert flag.severity is Severity.HIGH
    assert flag.evidence == {"people": 12, "institutions": 3, "events": 80, "window_days": 30}
    assert "checked in 12 people at 3 institutions" in flag.reason
    assert risk.shared_devices([risk.DeviceUse("KIOSK-8", "140105", 9, 3, 80)]) == []
    assert risk.shared_devices([risk.DeviceUse("KIOSK-9", "140105", 500, 1, 900)]) == []


def test_new_institution_with_many_enrolments_is_flagged_and_says_what_stands_in() -> None:
    new = institution(created_at=NOW - timedelta(days=30), enrolments_since_created=60)
    [flag] = risk.new_institutions_with_volume([new], NOW)
    assert flag.rule is RuleCode.NEW_INSTITUTION_VOLUME
    assert flag.evidence["enrolments"] == 60
    assert flag.evidence["days_since_created"] == 30
    assert "creation date stands in for the approval date" in flag.reason
    few = replace(new, enrolments_since_created=49)
    old = replace(new, created_at=NOW - timedelta(days=91))
    assert risk.new_institutions_with_volume([few, old], NOW) == []


def test_repeated_training_in_the_same_occupation_and_level_is_flagged() -> None:
    person_id = uuid.uuid4()
    twice = risk.RepeatedTraining(
        person_id, "1401**********1234", "140105", "4-10-01-02", "5", 2, 2
    )
    [flag] = risk.repeated_trainings([twice])
    assert flag.rule is RuleCode.REPEATED_TRAINING
    assert flag.subject_id == str(person_id)
    assert flag.subject_label == "1401**********1234"
    assert flag.evidence["enrolments"] == 2
    assert "2 enrolments in occupation 4-10-01-02 at level 5" in flag.reason
    assert risk.repeated_trainings([replace(twice, enrolments=1)]) == []


def test_flags_sort_high_severity_first() -> None:
    medium = risk.shared_mobiles([risk.SharedMobile("139****0001", "140105", [uuid.uuid4()] * 3)])
    high = risk.shared_devices([risk.DeviceUse("K", "140105", 40, 4, 100)])
    assert [f.severity for f in risk.by_severity(medium + high)] == [Severity.HIGH, Severity.MEDIUM]
