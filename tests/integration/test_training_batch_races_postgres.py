"""The chunked training paths keep the single paths' guarantees under concurrency on
PostgreSQL: a chunk takes the locks a single check-in or enrolment takes (the device, the
holders in primary-key order), so a chunk racing live calls cannot let a crowd through a door,
one holder into two places, or two vouchers of one holder onto one occupation and level."""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial

import pytest
from test_attendance_races_postgres import (
    check_in,
    crowd_enrolled,
    enrolled_in_two_places,
    race,
)

from builders import (
    Clock,
    issue,
    make_scheme,
    training_world,
)
from skillvoucher.application import enrolment, training
from skillvoucher.application.attendance_batches import AttendanceEvent, record_attendance_chunked
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import EnrolmentReceipt
from skillvoucher.application.enrolment_batches import EnrolmentRequest, enrol_chunked
from skillvoucher.domain.attendance import (
    DEVICE_BURST_PEOPLE,
    AttendanceDeviceBurst,
    AttendanceInTwoPlaces,
    AttendanceSource,
)
from skillvoucher.domain.errors import CourseNotUsable

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
FACE = AttendanceSource.FACE


def flat(outcomes: list[object]) -> list[object]:
    """A chunk's outcomes (a list) and single outcomes side by side."""
    found: list[object] = []
    for outcome in outcomes:
        found += outcome if isinstance(outcome, list) else [outcome]
    return found


def chunk(events: list[AttendanceEvent], ctx: AppContext) -> object:
    return record_attendance_chunked(ctx, events)


def test_a_chunk_and_live_check_ins_at_one_door_let_no_crowd_through(
    ctx: AppContext, clock: Clock
) -> None:
    crowd = 12
    vouchers, at = crowd_enrolled(ctx, clock, crowd)
    batched = [AttendanceEvent(v, FACE, at, 60, "door-1") for v in vouchers[:6]]

    outcomes = flat(
        race(
            ctx,
            [partial(chunk, batched), *(partial(check_in, v, at, "door-1") for v in vouchers[6:])],
        )
    )

    accepted = [o for o in outcomes if isinstance(o, training.AttendanceReceipt)]
    refused = [o for o in outcomes if isinstance(o, AttendanceDeviceBurst)]
    assert len(accepted) == DEVICE_BURST_PEOPLE
    assert len(refused) == crowd - DEVICE_BURST_PEOPLE


def test_a_chunk_and_a_live_check_in_cannot_put_one_holder_in_two_places(
    ctx: AppContext, clock: Clock
) -> None:
    here, there, at = enrolled_in_two_places(ctx, clock)

    for _ in range(3):  # the race is short: run it a few times on fresh moments
        at += timedelta(hours=2)
        clock.set(at + timedelta(minutes=5))
        outcomes = flat(
            race(
                ctx,
                [
                    partial(chunk, [AttendanceEvent(here, FACE, at, 60, "door-1")]),
                    partial(check_in, there, at, "gate"),
                ],
            )
        )
        accepted = [o for o in outcomes if isinstance(o, training.AttendanceReceipt)]
        refused = [o for o in outcomes if isinstance(o, AttendanceInTwoPlaces)]
        assert (len(accepted), len(refused)) == (1, 1), outcomes


def test_a_class_list_and_a_counter_cannot_enrol_one_holder_twice_on_an_occupation(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=3)
    other_scheme = make_scheme(
        ctx, code="TY-2026-B", name="太原市第二期培训券", eligibility={"one_active_voucher": False}
    )
    course = world.course.course_code
    for _ in range(3):  # the race is short: run it with a few holders
        holder = world.people.pop()
        first = issue(ctx, world.scheme.code, holder).voucher_id
        second = issue(ctx, other_scheme.code, holder).voucher_id
        codes = [enrolment.grant_consent(ctx, v).code for v in (first, second)]

        def at_counter(
            ctx: AppContext, voucher: uuid.UUID = second, code: str = codes[1]
        ) -> object:
            return enrolment.enrol(ctx, voucher, world.institution, course, code)

        def by_class(ctx: AppContext, voucher: uuid.UUID = first, code: str = codes[0]) -> object:
            return enrol_chunked(ctx, world.institution, [EnrolmentRequest(voucher, course, code)])

        outcomes = flat(race(ctx, [by_class, at_counter]))
        enrolled = [o for o in outcomes if isinstance(o, EnrolmentReceipt)]
        refused = [o for o in outcomes if isinstance(o, CourseNotUsable)]
        assert (len(enrolled), len(refused)) == (1, 1), outcomes
