"""Many threads race for the same voucher, quota or person on PostgreSQL: exactly one wins.

SQLite serialises writers, so only PostgreSQL can show that the conditional UPDATEs and row
locks hold under real concurrency. Every thread has its own connection (the pool is as large
as the crowd) and a barrier releases them together.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from builders import (
    Clock,
    TrainingWorld,
    deposit,
    import_people,
    issue,
    make_scheme,
    person,
    training_world,
)
from skillvoucher.application import enrolment, enrolment_rules, schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.credentials.keys import KeyStore
from skillvoucher.domain.errors import (
    AlreadyEnrolled,
    AlreadyExists,
    ConsentInvalid,
    DomainError,
    QuotaExhausted,
)
from skillvoucher.domain.quota_stripes import STRIPES
from skillvoucher.domain.schemes import course_unusable_reasons
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.database import create_engine_for, session_factory
from skillvoucher.persistence.repositories.vouchers import VoucherRepository
from skillvoucher.persistence.tables import Course, Enrolment, SchemeQuotaStripe, Voucher

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

CROWD = 50
ONCE_PER_LEVEL = "already used a voucher for this occupation and skill level"


@dataclass(frozen=True)
class Outcome:
    value: object | None
    error: BaseException | None


@pytest.fixture
def crowd_ctx(ctx: AppContext, clock: Clock) -> Iterator[AppContext]:
    """The test's context with a pool big enough that no thread waits for a connection."""
    engine = create_engine_for(
        ctx.settings.resolved_database_url, pool_size=CROWD, max_overflow=0, pool_timeout=60
    )
    crowd = AppContext(
        engine=engine,
        sessions=session_factory(engine),
        keys=KeyStore(ctx.settings.resolved_key_dir),
        settings=ctx.settings,
        clock=clock,
    )
    try:
        yield crowd
    finally:
        crowd.close()


def race(attempts: list[Callable[[], object]]) -> list[Outcome]:
    """Run every attempt in its own thread, all released at once; collect each outcome."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[Outcome | None] = [None] * len(attempts)

    def run(index: int, attempt: Callable[[], object]) -> None:
        barrier.wait()
        try:
            outcomes[index] = Outcome(attempt(), None)
        except BaseException as error:
            outcomes[index] = Outcome(None, error)

    threads = [
        threading.Thread(target=run, args=(i, a), name=f"racer-{i}") for i, a in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), f"{thread.name} is stuck"
    done = [o for o in outcomes if o is not None]
    assert len(done) == len(attempts)
    return done


def error_kinds(outcomes: list[Outcome]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for outcome in outcomes:
        kinds["success" if outcome.error is None else type(outcome.error).__name__] += 1
    return kinds


def assert_only_domain_errors(
    outcomes: list[Outcome], allowed: tuple[type[DomainError], ...]
) -> None:
    for outcome in outcomes:
        if outcome.error is not None and not isinstance(outcome.error, allowed):
            raise AssertionError(f"unexpected {outcome.error!r}") from outcome.error


def count(ctx: AppContext, table: type[Voucher] | type[Enrolment]) -> int:
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0


def test_fifty_threads_enrol_the_same_voucher_and_exactly_one_wins(
    ctx: AppContext, crowd_ctx: AppContext
) -> None:
    world: TrainingWorld = training_world(ctx, people=1)
    issued = issue(ctx, world.scheme.code, world.people[0])
    codes = [enrolment.grant_consent(ctx, issued.voucher_id).code for _ in range(CROWD)]

    def attempt(code: str) -> Callable[[], object]:
        return lambda: enrolment.enrol(crowd_ctx, issued.voucher_id, world.institution, "C1", code)

    outcomes = race([attempt(code) for code in codes])

    kinds = error_kinds(outcomes)
    assert kinds["success"] == 1, kinds
    [winner] = [o.value for o in outcomes if o.error is None]
    assert isinstance(winner, enrolment.EnrolmentReceipt)
    with ctx.unit_of_work() as uow:
        enrolments = list(uow.session.scalars(sa.select(Enrolment)))
        seats = uow.session.scalar(sa.select(Course.enrolled_count))
        voucher = uow.vouchers.get(issued.voucher_id)
        assert voucher is not None
        assert voucher.status is VoucherStatus.ENROLLED
        assert voucher.version == 2  # moved once
    assert [e.id for e in enrolments] == [winner.enrolment_id]
    assert seats == 1
    assert ledger_problems(ctx) == []

    # Every loser must be told why in domain terms: no IntegrityError, no deadlock, and
    # never a misleading "already trained in this occupation" about its own voucher.
    assert_only_domain_errors(outcomes, (AlreadyEnrolled, ConsentInvalid))
    assert kinds["AlreadyEnrolled"] + kinds["ConsentInvalid"] == CROWD - 1, kinds


def test_fifty_claims_on_a_quota_of_ten_issue_exactly_ten(
    ctx: AppContext, crowd_ctx: AppContext
) -> None:
    claimants = [person(name=f"申领人{i}") for i in range(CROWD)]
    import_people(ctx, claimants)
    deposit(ctx)
    scheme = make_scheme(ctx, code="TY-CLAIM", issuance="claim", quota=10, budget_fen=10 * 150_000)

    def attempt(resident_id: str) -> Callable[[], object]:
        return lambda: issue(crowd_ctx, scheme.code, resident_id)

    outcomes = race([attempt(p.resident_id) for p in claimants])

    kinds = error_kinds(outcomes)
    assert kinds == Counter({"QuotaExhausted": 40, "success": 10}), kinds
    assert_only_domain_errors(outcomes, (QuotaExhausted,))
    view = schemes.get_scheme(ctx, scheme.code)
    assert view.issued_count == 10
    assert view.available_fen == 0
    assert count(ctx, Voucher) == 10
    assert ledger_problems(ctx) == []


def test_one_person_claiming_from_ten_threads_gets_one_voucher(
    ctx: AppContext, crowd_ctx: AppContext
) -> None:
    claimant = person()
    import_people(ctx, [claimant])
    deposit(ctx)
    scheme = make_scheme(ctx, code="TY-CLAIM", issuance="claim", quota=10)

    outcomes = race([lambda: issue(crowd_ctx, scheme.code, claimant) for _ in range(10)])

    kinds = error_kinds(outcomes)
    assert kinds == Counter({"AlreadyExists": 9, "success": 1}), kinds
    assert_only_domain_errors(outcomes, (AlreadyExists,))
    assert schemes.get_scheme(ctx, scheme.code).issued_count == 1
    assert count(ctx, Voucher) == 1
    assert ledger_problems(ctx) == []


def test_claims_spread_over_the_quota_stripes_never_oversell_and_fill_every_stripe(
    ctx: AppContext, crowd_ctx: AppContext
) -> None:
    """Quota 45 over 32 stripes (13 of two places, 19 of one), 50 claimants: claims whose home
    stripe is full go round to the others, and exactly the quota is issued."""
    claimants = [person(name=f"申领人{i}") for i in range(CROWD)]
    import_people(ctx, claimants)
    deposit(ctx)
    scheme = make_scheme(ctx, code="TY-CLAIM", issuance="claim", quota=45, budget_fen=45 * 150_000)

    outcomes = race([partial(issue, crowd_ctx, scheme.code, p.resident_id) for p in claimants])

    kinds = error_kinds(outcomes)
    assert kinds == Counter({"QuotaExhausted": 5, "success": 45}), kinds
    assert_only_domain_errors(outcomes, (QuotaExhausted,))
    assert schemes.get_scheme(ctx, scheme.code).issued_count == 45
    assert count(ctx, Voucher) == 45
    with ctx.unit_of_work() as uow:
        stripes = uow.session.execute(
            sa.select(SchemeQuotaStripe.quota, SchemeQuotaStripe.taken)
        ).all()
    assert len(stripes) == STRIPES
    assert sum(s.quota for s in stripes) == 45
    assert all(s.taken == s.quota for s in stripes)
    assert ledger_problems(ctx) == []


# --- Deterministic interleavings ---------------------------------------------------------------


class Interleaving:
    """Runs ``first`` in a thread until it reaches ``pause()``, then runs ``second`` to the end
    (or until it waits for a database lock ``first`` holds), then lets ``first`` finish."""

    def __init__(self, watcher: AppContext) -> None:
        self._watcher = watcher
        self._first: threading.Thread | None = None
        self._reached = threading.Event()
        self._second_done = threading.Event()

    def pause(self) -> None:
        if threading.current_thread() is not self._first or self._reached.is_set():
            return
        self._reached.set()
        for _ in range(500):
            if self._second_done.wait(0.02) or self._second_waits_for_a_lock():
                return
        raise AssertionError("the second attempt neither finished nor waited for a lock")

    def _second_waits_for_a_lock(self) -> bool:
        with self._watcher.engine.connect() as connection:
            waiting = connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return bool(waiting)

    def run(self, first: Callable[[], object], second: Callable[[], object]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None, None]

        def attempt(index: int, call: Callable[[], object]) -> None:
            try:
                outcomes[index] = Outcome(call(), None)
            except BaseException as error:
                outcomes[index] = Outcome(None, error)
            finally:
                if index == 1:
                    self._second_done.set()
                else:
                    self._reached.set()  # in case first never paused

        self._first = threading.Thread(target=attempt, args=(0, first))
        self._first.start()
        assert self._reached.wait(30), "the first attempt never reached the pause point"
        second_thread = threading.Thread(target=attempt, args=(1, second))
        second_thread.start()
        for thread in (self._first, second_thread):
            thread.join(timeout=60)
            assert not thread.is_alive()
        done = [o for o in outcomes if o is not None]
        assert len(done) == 2
        return done


def test_a_loser_of_an_enrolment_race_is_told_already_enrolled(
    ctx: AppContext, crowd_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = training_world(ctx, people=1)
    issued = issue(ctx, world.scheme.code, world.people[0])
    first_code, second_code = (enrolment.grant_consent(ctx, issued.voucher_id).code for _ in "ab")
    interleaving = Interleaving(ctx)
    checks = course_unusable_reasons

    def paused_checks(*args: Any) -> list[str]:
        interleaving.pause()  # the voucher was read as issued; now the other enrols it
        return checks(*args)

    monkeypatch.setattr(enrolment_rules, "course_unusable_reasons", paused_checks)

    first, second = interleaving.run(
        lambda: enrolment.enrol(crowd_ctx, issued.voucher_id, world.institution, "C1", first_code),
        lambda: enrolment.enrol(crowd_ctx, issued.voucher_id, world.institution, "C1", second_code),
    )

    assert error_kinds([first, second])["success"] == 1
    loser = first if first.error is not None else second
    assert isinstance(loser.error, AlreadyEnrolled | ConsentInvalid), repr(loser.error)


def test_two_vouchers_of_one_holder_cannot_both_take_one_occupation_and_level(
    ctx: AppContext, crowd_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = training_world(ctx, people=1, eligibility={"one_active_voucher": False})
    other = make_scheme(ctx, code="TY-OTHER", eligibility={"one_active_voucher": False})
    holder = world.people[0]
    vouchers = [issue(ctx, code, holder).voucher_id for code in (world.scheme.code, other.code)]
    codes = [enrolment.grant_consent(ctx, v).code for v in vouchers]
    interleaving = Interleaving(ctx)
    has_trained_in = VoucherRepository.has_trained_in

    def paused_check(self: VoucherRepository, *args: Any, **kwargs: Any) -> bool:
        answer = has_trained_in(self, *args, **kwargs)
        interleaving.pause()  # checked, not yet enrolled: the other voucher enrols now
        return answer

    monkeypatch.setattr(VoucherRepository, "has_trained_in", paused_check)

    outcomes = interleaving.run(
        *[
            (lambda v=v, c=c: enrolment.enrol(crowd_ctx, v, world.institution, "C1", c))
            for v, c in zip(vouchers, codes, strict=True)
        ]
    )

    with ctx.unit_of_work() as uow:
        live = uow.session.scalar(
            sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.status == "active")
        )
    assert live == 1
    assert error_kinds(outcomes) == Counter({"success": 1, "CourseNotUsable": 1})
