"""Enrolment: the holder's one-time consent binds an issued voucher to a usable course, once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from builders import (
    Clock,
    TrainingWorld,
    enrol,
    import_course,
    import_institution,
    issue,
    make_scheme,
    training_world,
)
from skillvoucher.application import enrolment, lifecycle, training
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.errors import (
    AlreadyEnrolled,
    ConsentInvalid,
    CourseNotUsable,
    IllegalTransition,
    VoucherExpired,
    VoucherNotUsable,
)
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.tables import Course, Enrolment, Voucher

FACE = 150_000


@pytest.fixture
def world(ctx: AppContext) -> TrainingWorld:
    return training_world(ctx, validity={"days": 30})


def voucher(ctx: AppContext, voucher_id: uuid.UUID) -> Voucher:
    with ctx.unit_of_work() as uow:
        found = uow.vouchers.get(voucher_id)
        assert found is not None
        return found


def enrolments(ctx: AppContext, voucher_id: uuid.UUID) -> list[Enrolment]:
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(Enrolment)
            .where(Enrolment.voucher_id == voucher_id)
            .order_by(Enrolment.enrolled_at, Enrolment.id)
        )
        return list(uow.session.scalars(stmt))


def seats_taken(ctx: AppContext, course_code: str) -> int:
    with ctx.unit_of_work() as uow:
        count = uow.session.scalar(
            sa.select(Course.enrolled_count).where(Course.course_code == course_code)
        )
        assert count is not None
        return count


def assert_still_issued(ctx: AppContext, voucher_id: uuid.UUID) -> None:
    found = voucher(ctx, voucher_id)
    assert found.status is VoucherStatus.ISSUED
    assert (found.course_id, found.institution_id, found.redeemable_fen) == (None, None, None)
    assert [e for e in enrolments(ctx, voucher_id) if e.status is EnrolmentStatus.ACTIVE] == []


@pytest.mark.parametrize(
    ("price_fen", "voucher_pays", "holder_pays"),
    [(160_000, FACE, 10_000), (FACE, FACE, 0), (99_999, 99_999, 0)],
    ids=["dearer-than-face", "at-face", "cheaper-than-face"],
)
def test_voucher_pays_the_lesser_of_face_and_price_and_the_holder_the_rest(
    ctx: AppContext, clock: Clock, price_fen: int, voucher_pays: int, holder_pays: int
) -> None:
    world = training_world(ctx, course={"price_fen": price_fen})
    issued = issue(ctx, world.scheme.code, world.people[0])

    receipt = enrol(ctx, issued.voucher_id, world.institution)

    assert (receipt.voucher_pays_fen, receipt.holder_pays_fen) == (voucher_pays, holder_pays)
    found = voucher(ctx, issued.voucher_id)
    assert found.status is VoucherStatus.ENROLLED
    assert found.redeemable_fen == voucher_pays
    assert found.enrolled_at == clock.now
    assert found.face_value_fen == FACE  # the commitment stays whole until settlement
    [only] = enrolments(ctx, issued.voucher_id)
    assert only.id == receipt.enrolment_id
    assert (only.status, only.redeemable_fen) == (EnrolmentStatus.ACTIVE, voucher_pays)
    assert seats_taken(ctx, world.course.course_code) == 1
    assert ledger_problems(ctx) == []


def test_consent_code_is_single_use(ctx: AppContext, world: TrainingWorld) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    grant = enrolment.grant_consent(ctx, issued.voucher_id)
    enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", grant.code)
    enrolment.cancel_enrolment(ctx, issued.voucher_id, "changed course")

    with pytest.raises(ConsentInvalid):
        enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", grant.code)

    assert_still_issued(ctx, issued.voucher_id)
    assert seats_taken(ctx, "C1") == 0
    enrol(ctx, issued.voucher_id, world.institution)  # a fresh code works
    assert voucher(ctx, issued.voucher_id).status is VoucherStatus.ENROLLED


def test_consent_code_expires(ctx: AppContext, clock: Clock, world: TrainingWorld) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    stale = enrolment.grant_consent(ctx, issued.voucher_id)
    assert stale.expires_at == clock.now + timedelta(minutes=10)
    clock.advance(timedelta(minutes=10))  # valid up to, not including, expires_at

    with pytest.raises(ConsentInvalid):
        enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", stale.code)
    assert_still_issued(ctx, issued.voucher_id)

    fresh = enrolment.grant_consent(ctx, issued.voucher_id)
    clock.advance(timedelta(minutes=9, seconds=59))
    enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", fresh.code)
    assert voucher(ctx, issued.voucher_id).status is VoucherStatus.ENROLLED


def test_wrong_consent_code_is_refused(ctx: AppContext, world: TrainingWorld) -> None:
    mine = issue(ctx, world.scheme.code, world.people[0])
    theirs = issue(ctx, world.scheme.code, world.people[1])
    grant = enrolment.grant_consent(ctx, mine.voucher_id)
    their_grant = enrolment.grant_consent(ctx, theirs.voucher_id)
    wrong = f"{(int(grant.code) + 1) % 1_000_000:06d}"

    for code in (wrong, their_grant.code, ""):
        with pytest.raises(ConsentInvalid):
            enrolment.enrol(ctx, mine.voucher_id, world.institution, "C1", code)
    assert_still_issued(ctx, mine.voucher_id)
    assert seats_taken(ctx, "C1") == 0

    # The failed attempts spent nothing: the right code still works, padded as typed.
    enrolment.enrol(ctx, mine.voucher_id, world.institution, "C1", f" {grant.code} ")
    assert voucher(ctx, mine.voucher_id).status is VoucherStatus.ENROLLED


@pytest.mark.parametrize("approval_status", ["pending", "suspended", "revoked"])
def test_course_of_an_unapproved_institution_is_refused(
    ctx: AppContext, world: TrainingWorld, approval_status: str
) -> None:
    unapproved = import_institution(
        ctx, name="太原市新华职业技能培训学校", approval_status=approval_status
    )
    import_course(ctx, unapproved, course_code="N1")
    issued = issue(ctx, world.scheme.code, world.people[0])

    with pytest.raises(CourseNotUsable, match="the institution is not approved"):
        enrol(ctx, issued.voucher_id, unapproved, "N1")

    assert_still_issued(ctx, issued.voucher_id)
    assert seats_taken(ctx, "N1") == 0


@pytest.mark.parametrize(
    ("courses", "reason"),
    [
        ({"occupations": ["6-18-02-04"]}, "occupation 4-10-01-02 is not covered"),
        ({"levels": ["4", "3"]}, "skill level 5 is not covered"),
        ({"modes": ["online"]}, "offline courses are not covered"),
    ],
    ids=["occupation", "level", "mode"],
)
def test_course_not_covered_by_the_scheme_is_refused(
    ctx: AppContext, courses: dict[str, list[str]], reason: str
) -> None:
    world = training_world(ctx, courses=courses)
    issued = issue(ctx, world.scheme.code, world.people[0])

    with pytest.raises(CourseNotUsable, match=reason):
        enrol(ctx, issued.voucher_id, world.institution)

    assert_still_issued(ctx, issued.voucher_id)


def test_scheme_limited_to_listed_institutions(ctx: AppContext) -> None:
    listed = import_institution(ctx, name="太原市明德职业技能培训学校")
    import_course(ctx, listed, course_code="L1")
    world = training_world(ctx, courses={"institutions": [listed]})
    issued = issue(ctx, world.scheme.code, world.people[0])

    with pytest.raises(CourseNotUsable, match="not on the scheme's list"):
        enrol(ctx, issued.voucher_id, world.institution)
    enrol(ctx, issued.voucher_id, listed, "L1")

    assert voucher(ctx, issued.voucher_id).status is VoucherStatus.ENROLLED


def test_cancel_returns_the_voucher_to_issued_and_frees_the_seat(
    ctx: AppContext, clock: Clock, world: TrainingWorld
) -> None:
    import_course(ctx, world.institution, course_code="C2", price_fen=90_000)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    clock.advance(timedelta(days=1))

    enrolment.cancel_enrolment(ctx, issued.voucher_id, "the holder moved")

    assert_still_issued(ctx, issued.voucher_id)
    [cancelled] = enrolments(ctx, issued.voucher_id)
    assert (cancelled.status, cancelled.ended_at) == (EnrolmentStatus.CANCELLED, clock.now)
    assert seats_taken(ctx, "C1") == 0

    receipt = enrol(ctx, issued.voucher_id, world.institution, "C2")
    assert receipt.voucher_pays_fen == 90_000
    assert seats_taken(ctx, "C2") == 1
    assert len(enrolments(ctx, issued.voucher_id)) == 2
    assert ledger_problems(ctx) == []


def test_cancel_is_refused_once_training_started(
    ctx: AppContext, clock: Clock, world: TrainingWorld
) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    training.record_attendance(ctx, issued.voucher_id, AttendanceSource.FACE, clock.now, 240)

    with pytest.raises(IllegalTransition):
        enrolment.cancel_enrolment(ctx, issued.voucher_id, "too late")

    assert voucher(ctx, issued.voucher_id).status is VoucherStatus.IN_TRAINING
    assert seats_taken(ctx, "C1") == 1


def test_no_consent_code_for_an_enrolled_voucher(ctx: AppContext, world: TrainingWorld) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)

    with pytest.raises(VoucherNotUsable, match="is enrolled"):
        enrolment.grant_consent(ctx, issued.voucher_id)

    assert len(enrolments(ctx, issued.voucher_id)) == 1


def test_enrol_with_an_earlier_code_on_an_enrolled_voucher_says_already_enrolled(
    ctx: AppContext, world: TrainingWorld
) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    first = enrolment.grant_consent(ctx, issued.voucher_id)
    second = enrolment.grant_consent(ctx, issued.voucher_id)
    enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", first.code)

    with pytest.raises(AlreadyEnrolled):
        enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", second.code)

    assert len(enrolments(ctx, issued.voucher_id)) == 1
    assert seats_taken(ctx, "C1") == 1


def test_full_course_is_refused(ctx: AppContext) -> None:
    world = training_world(ctx, course={"capacity": 1})
    first = issue(ctx, world.scheme.code, world.people[0])
    second = issue(ctx, world.scheme.code, world.people[1])
    enrol(ctx, first.voucher_id, world.institution)

    with pytest.raises(CourseNotUsable, match="is full"):
        enrol(ctx, second.voucher_id, world.institution)

    assert_still_issued(ctx, second.voucher_id)
    assert seats_taken(ctx, "C1") == 1


def test_once_per_occupation_and_level(ctx: AppContext, world: TrainingWorld) -> None:
    other = make_scheme(ctx, code="TY-OTHER", eligibility={"one_active_voucher": False})
    second_school = import_institution(ctx, name="太原市匠心职业技能培训学校")
    import_course(ctx, second_school, course_code="S5")  # same occupation, level 5
    import_course(ctx, second_school, course_code="S4", skill_level="4", name="育婴员(四级)")
    holder = world.people[0]
    first = issue(ctx, world.scheme.code, holder)
    second = issue(ctx, other.code, holder)
    enrol(ctx, first.voucher_id, world.institution)

    with pytest.raises(CourseNotUsable, match="already used a voucher for this occupation"):
        enrol(ctx, second.voucher_id, second_school, "S5")
    assert_still_issued(ctx, second.voucher_id)

    enrol(ctx, second.voucher_id, second_school, "S4")  # the next level up is fine
    assert voucher(ctx, second.voucher_id).status is VoucherStatus.ENROLLED


def test_once_per_occupation_and_level_counts_only_live_enrolments(
    ctx: AppContext, world: TrainingWorld
) -> None:
    other = make_scheme(ctx, code="TY-OTHER", eligibility={"one_active_voucher": False})
    holder = world.people[0]
    first = issue(ctx, world.scheme.code, holder)
    second = issue(ctx, other.code, holder)
    enrol(ctx, first.voucher_id, world.institution)
    enrolment.cancel_enrolment(ctx, first.voucher_id, "wrong course")

    enrol(ctx, second.voucher_id, world.institution)

    assert voucher(ctx, second.voucher_id).status is VoucherStatus.ENROLLED


def test_scheme_may_allow_the_same_occupation_and_level_again(
    ctx: AppContext, world: TrainingWorld
) -> None:
    other = make_scheme(
        ctx,
        code="TY-AGAIN",
        eligibility={"one_active_voucher": False, "once_per_occupation_level": False},
    )
    holder = world.people[0]
    enrol(ctx, issue(ctx, world.scheme.code, holder).voucher_id, world.institution)
    again = issue(ctx, other.code, holder)
    enrol(ctx, again.voucher_id, world.institution)
    assert seats_taken(ctx, "C1") == 2


def test_expired_voucher_is_refused(ctx: AppContext, clock: Clock, world: TrainingWorld) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    assert issued.valid_until == clock.now + timedelta(days=30)
    clock.advance(timedelta(days=30, seconds=1))
    grant = enrolment.grant_consent(ctx, issued.voucher_id)

    with pytest.raises(VoucherExpired):
        enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", grant.code)
    assert_still_issued(ctx, issued.voucher_id)

    assert lifecycle.expire_vouchers(ctx) == 1
    assert voucher(ctx, issued.voucher_id).status is VoucherStatus.EXPIRED
    with pytest.raises(VoucherNotUsable):
        enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", grant.code)
    with pytest.raises(VoucherNotUsable):
        enrolment.grant_consent(ctx, issued.voucher_id)
    assert seats_taken(ctx, "C1") == 0
    assert ledger_problems(ctx) == []


def test_voucher_is_usable_until_its_last_instant(
    ctx: AppContext, clock: Clock, world: TrainingWorld
) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    clock.set(issued.valid_until)
    enrol(ctx, issued.voucher_id, world.institution)
    assert voucher(ctx, issued.voucher_id).status is VoucherStatus.ENROLLED


def test_revoked_voucher_frees_its_seat(ctx: AppContext, world: TrainingWorld) -> None:
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)

    released = lifecycle.revoke_voucher(ctx, issued.voucher_id, "fraud suspected")

    assert released == FACE
    assert voucher(ctx, issued.voucher_id).status is VoucherStatus.REVOKED
    assert seats_taken(ctx, "C1") == 0
    assert [e.status for e in enrolments(ctx, issued.voucher_id)] == [EnrolmentStatus.CANCELLED]
    with pytest.raises(VoucherNotUsable):
        enrolment.grant_consent(ctx, issued.voucher_id)
    assert ledger_problems(ctx) == []


def test_course_that_has_ended_is_refused(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, course={"end_date": date(2026, 3, 20)})
    issued = issue(ctx, world.scheme.code, world.people[0])
    clock.set(datetime(2026, 3, 20, 15, 59, tzinfo=UTC))  # 23:59 on 20 March in Shanghai
    grant = enrolment.grant_consent(ctx, issued.voucher_id)
    clock.advance(timedelta(minutes=1))

    with pytest.raises(CourseNotUsable, match="the course ended on 2026-03-20"):
        enrolment.enrol(ctx, issued.voucher_id, world.institution, "C1", grant.code)

    assert_still_issued(ctx, issued.voucher_id)
