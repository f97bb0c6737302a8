"""Whatever happens to vouchers, in whatever order, the fund ledger stays sound.

A Hypothesis state machine drives random sequences of the real use cases (issue, enrol,
attend, complete, settle, approve, pay, expire, revoke, cancel, deposit) on a controllable
clock. Each rule tolerates exactly the domain errors its use case may rightly raise; after
every step the ledger must pass every check.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.engine import make_url

from builders import (
    DEFAULT_DEPOSIT_FEN,
    Clock,
    TrainingWorld,
    deposit,
    enrol,
    import_course,
    issue,
    make_context,
    make_scheme,
    publish_and_pay,
    training_world,
)
from skillvoucher.application import enrolment, lifecycle, settlement, settlement_batches, training
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import (
    AlreadyEnrolled,
    AlreadyExists,
    CourseNotUsable,
    IllegalTransition,
    QuotaExhausted,
    VoucherExpired,
    VoucherNotUsable,
)
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import Voucher

FACE = 150_000
QUOTA = 12
VALIDITY_DAYS = 60
SCHEMES = ("TY-LEDGER-A", "TY-LEDGER-B")
COURSES = ("C1", "C2")  # C1 costs less than the face value, C2 more
PEOPLE = 5
STEPS = 40


class LedgerMachine(RuleBasedStateMachine):
    """Subclasses say where each run's fresh database and files go (``new_context``)."""

    vouchers: Bundle[uuid.UUID] = Bundle("vouchers")
    batches: Bundle[uuid.UUID] = Bundle("batches")

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.ctx = self.new_context(self.clock)
        try:
            self._set_up()
        except BaseException:
            self.ctx.close()
            raise
        self.deposited = DEFAULT_DEPOSIT_FEN  # what training_world deposited

    def _set_up(self) -> None:
        """People, a school with two courses, and two funded schemes."""
        self.world: TrainingWorld = training_world(
            self.ctx,
            people=PEOPLE,
            course={"price_fen": 100_001, "hours": 2},
            code=SCHEMES[0],
            quota=QUOTA,
            budget_fen=QUOTA * FACE,
            validity={"days": VALIDITY_DAYS},
            eligibility={"one_active_voucher": False},
        )
        import_course(
            self.ctx,
            self.world.institution,
            course_code=COURSES[1],
            price_fen=200_000,
            hours=4,
            skill_level="4",
        )
        make_scheme(
            self.ctx,
            code=SCHEMES[1],
            quota=QUOTA,
            budget_fen=QUOTA * FACE,
            validity={"days": VALIDITY_DAYS},
            eligibility={"one_active_voucher": False},
            settlement={
                "stages": [
                    {"evidence": "enrolment", "percent": 20},
                    {"evidence": "attendance", "percent": 30},
                    {"evidence": "completion", "percent": 50},
                ],
                "min_attendance_percent": 75,
            },
        )

    def new_context(self, clock: Clock) -> AppContext:
        raise NotImplementedError

    def teardown(self) -> None:
        self.ctx.close()

    # --- Rules -----------------------------------------------------------------------------

    @initialize(target=vouchers)
    def issue_a_few(self) -> MultipleResults[uuid.UUID]:
        return multiple(*(issue(self.ctx, SCHEMES[0], p).voucher_id for p in self.world.people[:3]))

    @rule(target=vouchers, holder=st.integers(0, PEOPLE - 1), scheme=st.sampled_from(SCHEMES))
    def issue_voucher(self, holder: int, scheme: str) -> uuid.UUID | MultipleResults[uuid.UUID]:
        try:
            return issue(self.ctx, scheme, self.world.people[holder]).voucher_id
        except (AlreadyExists, QuotaExhausted):
            return multiple()

    @rule(voucher=vouchers, course=st.sampled_from(COURSES))
    def enrol_any(self, voucher: uuid.UUID, course: str) -> None:
        with suppress(VoucherNotUsable, VoucherExpired, AlreadyEnrolled, CourseNotUsable):
            enrol(self.ctx, voucher, self.world.institution, course)

    # Enrolling, attending and completing also pick among vouchers that can: random vouchers
    # would seldom get that far in a short run. Wrong-state attempts are covered by the rules
    # that take any voucher from the bundle.

    def _in_status(self, *statuses: VoucherStatus) -> list[uuid.UUID]:
        with self.ctx.unit_of_work() as uow:
            stmt = select(Voucher.id).where(Voucher.status.in_(statuses)).order_by(Voucher.id)
            return list(uow.session.scalars(stmt))

    def _usable(self) -> list[uuid.UUID]:
        with self.ctx.unit_of_work() as uow:
            stmt = (
                select(Voucher.id)
                .where(
                    Voucher.status == VoucherStatus.ISSUED, Voucher.valid_until >= self.clock.now
                )
                .order_by(Voucher.id)
            )
            return list(uow.session.scalars(stmt))

    def _can_enrol(self) -> bool:
        return bool(self._usable())

    @precondition(_can_enrol)
    @rule(data=st.data(), course=st.sampled_from(COURSES))
    def enrol_usable(self, data: st.DataObject, course: str) -> None:
        voucher = data.draw(st.sampled_from(self._usable()))
        try:
            enrol(self.ctx, voucher, self.world.institution, course)
        except CourseNotUsable as error:
            if "occupation and skill level" not in error.message:
                raise  # only the holder's earlier enrolment on this level may refuse it

    def _trainable(self) -> list[uuid.UUID]:
        """Vouchers in training, or completed and still waiting for their certificate."""
        with self.ctx.unit_of_work() as uow:
            stmt = (
                select(Voucher.id)
                .where(
                    Voucher.status.in_([VoucherStatus.ENROLLED, VoucherStatus.IN_TRAINING])
                    | (
                        (Voucher.status == VoucherStatus.COMPLETED)
                        & Voucher.certificate_no.is_(None)
                    )
                )
                .order_by(Voucher.id)
            )
            return list(uow.session.scalars(stmt))

    def _can_train(self) -> bool:
        return bool(self._trainable())

    @precondition(_can_train)
    @rule(
        data=st.data(),
        minutes=st.sampled_from((0, 60, 120, 240)),
        finish=st.sampled_from(("no", "complete", "certify")),
    )
    def train(self, data: st.DataObject, minutes: int, finish: str) -> None:
        """Attend for a while, then perhaps complete the course, with or without certificate."""
        voucher = data.draw(st.sampled_from(self._trainable()))
        self.clock.advance(timedelta(hours=1))
        if minutes:
            try:
                receipt = training.record_attendance(
                    self.ctx, voucher, AttendanceSource.QR, self.clock.now, minutes, "scanner"
                )
                assert receipt.recorded
            except VoucherNotUsable:
                pass  # completed: attendance is closed
        if finish == "no":
            return
        try:
            if finish == "certify":
                number = f"CERT-{voucher.hex[:8]}"
                training.record_completion(self.ctx, voucher, number, SkillLevel.LEVEL_5)
            else:
                training.record_completion(self.ctx, voucher)
        except IllegalTransition:
            pass  # not in training yet, or completed without a certificate to add

    @rule(target=batches, approve=st.booleans(), pay=st.booleans())
    def settle(self, approve: bool, pay: bool) -> MultipleResults[uuid.UUID]:
        # Each run ends a day later than the last, so every run is a new (overlapping) period.
        self.clock.advance(timedelta(days=1))
        run = settlement.run_settlement(self.ctx, date(2026, 1, 1), self.clock.today)
        for batch in run.created:
            if approve:
                settlement_batches.approve_batch(self.ctx, batch.batch_id, "finance-officer")
                if pay:
                    publish_and_pay(self.ctx, self.clock, batch.batch_id, "TR-1")
        return multiple(*(b.batch_id for b in run.created))

    @rule(batch=batches, pay=st.booleans())
    def approve_and_pay(self, batch: uuid.UUID, pay: bool) -> None:
        with suppress(IllegalTransition):  # approved before
            settlement_batches.approve_batch(self.ctx, batch, "finance-officer")
        if pay:
            with suppress(IllegalTransition):  # published, or even paid, before
                publish_and_pay(self.ctx, self.clock, batch, f"TR-{batch.hex[:8]}")

    @rule(days=st.sampled_from((1, 20, VALIDITY_DAYS + 1)))
    def expire(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))
        lifecycle.expire_vouchers(self.ctx)

    @rule(voucher=vouchers)
    def revoke(self, voucher: uuid.UUID) -> None:
        with suppress(IllegalTransition):  # completed, settled, expired or revoked already
            lifecycle.revoke_voucher(self.ctx, voucher, "state machine")

    @rule(voucher=vouchers)
    def claw_back(self, voucher: uuid.UUID) -> None:
        with suppress(IllegalTransition):  # never enrolled, expired or revoked already
            lifecycle.claw_back_voucher(self.ctx, voucher, "state machine")

    def _can_cancel(self) -> bool:
        return bool(self._in_status(VoucherStatus.ENROLLED))

    @precondition(_can_cancel)
    @rule(data=st.data())
    def cancel_enrolment(self, data: st.DataObject) -> None:
        voucher = data.draw(st.sampled_from(self._in_status(VoucherStatus.ENROLLED)))
        try:
            enrolment.cancel_enrolment(self.ctx, voucher, "state machine")
        except VoucherExpired:
            pass  # past its validity: it cannot go back to issued
        except IllegalTransition as error:
            if "settlement records" not in error.message:
                raise  # only an enrolment already (partly) paid for may stay

    @rule(amount=st.integers(1, 5_000_000))
    def deposit_more(self, amount: int) -> None:
        deposit(self.ctx, amount)
        self.deposited += amount

    # --- Invariants ------------------------------------------------------------------------

    @invariant()
    def ledger_is_sound(self) -> None:
        assert ledger_problems(self.ctx) == []
        with self.ctx.unit_of_work() as uow:
            balances = uow.ledger.balances()
            moved = uow.ledger.kind_totals()
        assert sum(balances.values()) == 0
        assert -balances[Account.TREASURY] == self.deposited
        assert moved[JournalKind.DEPOSIT] == self.deposited
        assert balances[Account.FUND_AVAILABLE] == self.deposited - len(SCHEMES) * QUOTA * FACE
        # Money inside the schemes never changes in total, only moves between buckets.
        scheme_buckets = (
            Account.SCHEME_AVAILABLE,
            Account.COMMITTED,
            Account.PAYABLE,
            Account.PAID,
        )
        inside = sum(balances[a] for a in scheme_buckets)
        assert inside == len(SCHEMES) * QUOTA * FACE


def machine_on(
    fresh_database: Callable[[], str], directories: pytest.TempPathFactory
) -> type[LedgerMachine]:
    class Machine(LedgerMachine):
        def new_context(self, clock: Clock) -> AppContext:
            return make_context(fresh_database(), directories.mktemp("ledger"), clock)

    return Machine


def test_ledger_stays_sound_under_random_voucher_lives(
    database_url: str,
    fresh_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    run_state_machine_as_test(
        machine_on(fresh_database, tmp_path_factory),
        settings=settings(
            max_examples=20 if sqlite else 8,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
