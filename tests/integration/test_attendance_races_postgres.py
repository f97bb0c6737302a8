"""Simultaneous check-ins on PostgreSQL cannot slip past the plausibility rules together: a crowd
at one device within seconds, and one holder at two institutions at once, are refused exactly
as they would be one after another. Each thread has its own connection and a barrier releases
them together."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import pytest

from builders import (
    Clock,
    enrol,
    import_course,
    import_institution,
    issue,
    make_scheme,
    training_world,
)
from skillvoucher.application import training
from skillvoucher.application.context import AppContext
from skillvoucher.domain.attendance import (
    DEVICE_BURST_PEOPLE,
    AttendanceDeviceBurst,
    AttendanceInTwoPlaces,
    AttendanceSource,
)
from skillvoucher.persistence.database import create_engine_for, session_factory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
FACE = AttendanceSource.FACE


def check_in(
    voucher_id: uuid.UUID, at: datetime, device: str, ctx: AppContext
) -> training.AttendanceReceipt:
    return training.record_attendance(ctx, voucher_id, FACE, at, 60, device)


def race(ctx: AppContext, attempts: list[Callable[[AppContext], object]]) -> list[object]:
    """Run every attempt at once, each on its own connection; the outcomes (value or error)."""
    engine = create_engine_for(
        ctx.settings.resolved_database_url, pool_size=len(attempts), max_overflow=0
    )
    shared = ctx.acting_as("race")
    shared.engine, shared.sessions = engine, session_factory(engine)
    barrier = threading.Barrier(len(attempts))
    outcomes: list[object] = [None] * len(attempts)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = attempts[index](shared)
        except Exception as error:  # the outcome under test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    return outcomes


def crowd_enrolled(ctx: AppContext, clock: Clock, crowd: int) -> tuple[list[uuid.UUID], datetime]:
    """``crowd`` holders enrolled on one course, and a moment an hour on to check them in at."""
    world = training_world(ctx, people=crowd)
    vouchers = []
    for holder in world.people:
        voucher_id = issue(ctx, world.scheme.code, holder).voucher_id
        enrol(ctx, voucher_id, world.institution, world.course.course_code)
        vouchers.append(voucher_id)
    clock.advance(timedelta(hours=1))
    return vouchers, clock.now - timedelta(minutes=5)


def enrolled_in_two_places(ctx: AppContext, clock: Clock) -> tuple[uuid.UUID, uuid.UUID, datetime]:
    """One holder's two vouchers, enrolled at two institutions, and a moment to check in at."""
    world = training_world(ctx, people=1)
    here = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    enrol(ctx, here, world.institution, world.course.course_code)
    other_scheme = make_scheme(
        ctx, code="TY-2026-B", name="太原市第二期培训券", eligibility={"one_active_voucher": False}
    )
    elsewhere = import_institution(ctx, name="太原市另一家培训学校")
    import_course(
        ctx, elsewhere, course_code="E1", name="营销员(五级)", occupation_code="4-01-02-01"
    )
    there = issue(ctx, other_scheme.code, world.people[0]).voucher_id
    enrol(ctx, there, elsewhere, "E1")
    clock.advance(timedelta(hours=1))
    return here, there, clock.now - timedelta(minutes=5)


def test_a_crowd_checked_in_at_one_device_at_once_is_refused_beyond_the_limit(
    ctx: AppContext, clock: Clock
) -> None:
    crowd = 12
    vouchers, at = crowd_enrolled(ctx, clock, crowd)

    outcomes = race(ctx, [partial(check_in, v, at, "door-1") for v in vouchers])

    accepted = [o for o in outcomes if isinstance(o, training.AttendanceReceipt)]
    refused = [o for o in outcomes if isinstance(o, AttendanceDeviceBurst)]
    assert len(accepted) == DEVICE_BURST_PEOPLE
    assert len(refused) == crowd - DEVICE_BURST_PEOPLE


def test_one_holder_checked_in_at_two_institutions_at_once_is_accepted_once(
    ctx: AppContext, clock: Clock
) -> None:
    here, there, at = enrolled_in_two_places(ctx, clock)

    for _ in range(3):  # the race is short: run it a few times on fresh moments
        at += timedelta(hours=2)
        clock.set(at + timedelta(minutes=5))
        outcomes = race(
            ctx, [partial(check_in, here, at, "door-1"), partial(check_in, there, at, "gate")]
        )
        accepted = [o for o in outcomes if isinstance(o, training.AttendanceReceipt)]
        refused = [o for o in outcomes if isinstance(o, AttendanceInTwoPlaces)]
        assert (len(accepted), len(refused)) == (1, 1), outcomes
