"""The striped quota gate of first-come schemes, one claim at a time, on both databases
(races on PostgreSQL: test_races_postgres.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from builders import deposit, import_people, issue, make_scheme, person
from skillvoucher.application import schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.quota_gate import ExhaustedQuotas
from skillvoucher.domain.errors import AlreadyExists, InsufficientFunds, QuotaExhausted
from skillvoucher.domain.quota_stripes import STRIPES
from skillvoucher.persistence.repositories.dialect import plain_update
from skillvoucher.persistence.tables import Scheme, SchemeQuotaGate, SchemeQuotaStripe
from statement_log import statements_sent

FACE = 150_000


def stripes(ctx: AppContext) -> list[tuple[int, int]]:
    """(quota, taken) of every stripe, in stripe order."""
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(
            sa.select(SchemeQuotaStripe.quota, SchemeQuotaStripe.taken).order_by(
                SchemeQuotaStripe.stripe
            )
        )
        return [(int(q), int(t)) for q, t in rows]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def remember_full_quotas(ctx: AppContext, seconds: float = 1.0) -> FakeMonotonic:
    """Give ``ctx`` a memory of full quotas on a clock the test moves."""
    clock = FakeMonotonic()
    ctx.__dict__["_exhausted_quotas"] = ExhaustedQuotas(seconds, clock)
    return clock


def set_quota(ctx: AppContext, code: str, quota: int) -> None:
    with ctx.unit_of_work() as uow:
        uow.session.execute(plain_update(Scheme).where(Scheme.code == code).values(quota=quota))
        uow.commit()


def test_the_first_claim_lays_out_the_stripes_and_every_claim_counts_once(
    ctx: AppContext,
) -> None:
    deposit(ctx)
    scheme = make_scheme(ctx, issuance="claim", quota=40, budget_fen=40 * FACE)
    people = [person() for _ in range(3)]
    import_people(ctx, people)
    assert stripes(ctx) == []

    for holder in people:
        issue(ctx, scheme.code, holder)

    laid_out = stripes(ctx)
    assert len(laid_out) == STRIPES
    assert sum(q for q, _ in laid_out) == 40
    assert sum(t for _, t in laid_out) == 3 == schemes.get_scheme(ctx, scheme.code).issued_count


def test_places_issued_before_the_stripes_existed_count_against_them(ctx: AppContext) -> None:
    """A scheme claimed from before migration 0011: its first striped claim counts the
    vouchers already issued, so the quota is not granted twice."""
    deposit(ctx)
    scheme = make_scheme(ctx, issuance="claim", quota=3, budget_fen=3 * FACE)
    people = [person() for _ in range(4)]
    import_people(ctx, people)
    issue(ctx, scheme.code, people[0])
    issue(ctx, scheme.code, people[1])
    with ctx.unit_of_work() as uow:
        uow.session.execute(sa.delete(SchemeQuotaGate))
        uow.session.execute(sa.delete(SchemeQuotaStripe))
        uow.commit()

    issue(ctx, scheme.code, people[2])
    with pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[3])

    assert sum(t for _, t in stripes(ctx)) == 3 == schemes.get_scheme(ctx, scheme.code).issued_count
    assert ledger_problems(ctx) == []


def test_a_raised_quota_reopens_the_claims_and_a_lowered_one_is_held_by_the_counter(
    ctx: AppContext,
) -> None:
    """No use case raises a launched scheme's quota; an operator may, in the database. Each
    process's memory of the full quota lapses within its time, and the claims go on."""
    monotonic = remember_full_quotas(ctx, seconds=1.0)
    deposit(ctx)
    scheme = make_scheme(ctx, issuance="claim", quota=2, budget_fen=10 * FACE)
    people = [person() for _ in range(6)]
    import_people(ctx, people)
    issue(ctx, scheme.code, people[0])
    issue(ctx, scheme.code, people[1])
    with pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[2])

    set_quota(ctx, scheme.code, 4)
    monotonic.now += 0.9
    with pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[2])
    monotonic.now += 0.1
    issue(ctx, scheme.code, people[2])
    issue(ctx, scheme.code, people[3])
    assert sum(q for q, _ in stripes(ctx)) == 4

    # Lowered below what the stripes hold (no use case does this; the counter still refuses).
    with ctx.unit_of_work() as uow:
        uow.session.execute(
            plain_update(SchemeQuotaStripe).values(quota=SchemeQuotaStripe.quota + 1)
        )
        uow.session.execute(
            plain_update(SchemeQuotaGate).values(
                open_stripes=STRIPES, quota=SchemeQuotaGate.quota + STRIPES
            )
        )
        uow.commit()
    with pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[4])
    assert schemes.get_scheme(ctx, scheme.code).issued_count == 4
    assert ledger_problems(ctx) == []


def gate(ctx: AppContext, code: str) -> tuple[int, int]:
    """(open stripes, their shares added up) as the scheme's gate row counts them."""
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(code)
        assert scheme is not None
        found = uow.schemes.stripes.gate(scheme.id)
    return found.open_stripes, found.quota


def test_the_gate_row_counts_the_stripes_as_they_fill_reopen_and_roll_back(
    ctx: AppContext,
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"quota_exhausted_memory_seconds": 0})
    deposit(ctx)
    # One place per stripe: every claim fills the stripe it takes. The budget covers only 33
    # vouchers, so the claim after a raise takes a place and is then rolled back.
    scheme = make_scheme(ctx, issuance="claim", quota=STRIPES, budget_fen=(STRIPES + 1) * FACE)
    people = [person() for _ in range(STRIPES + 3)]
    import_people(ctx, people)
    for filled, holder in enumerate(people[:STRIPES], start=1):
        issue(ctx, scheme.code, holder)
        assert gate(ctx, scheme.code) == (STRIPES - filled, STRIPES)
    with pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[STRIPES])
    assert gate(ctx, scheme.code) == (0, STRIPES)

    set_quota(ctx, scheme.code, STRIPES + 2)  # two stripes get a second place
    issue(ctx, scheme.code, people[STRIPES])
    assert gate(ctx, scheme.code) == (1, STRIPES + 2)
    with pytest.raises(InsufficientFunds):
        issue(ctx, scheme.code, people[STRIPES + 1])  # took the last place, then rolled back
    assert gate(ctx, scheme.code) == (1, STRIPES + 2)
    assert sum(t for _, t in stripes(ctx)) == STRIPES + 1
    assert ledger_problems(ctx) == []


def test_once_a_quota_is_found_gone_the_next_claims_are_refused_with_no_statement(
    ctx: AppContext,
) -> None:
    monotonic = remember_full_quotas(ctx, seconds=1.0)
    deposit(ctx)
    scheme = make_scheme(ctx, issuance="claim", quota=1, budget_fen=10 * FACE)
    other = make_scheme(ctx, code="TY-OTHER", issuance="claim", quota=5, budget_fen=10 * FACE)
    people = [person() for _ in range(4)]
    import_people(ctx, people)
    issue(ctx, scheme.code, people[0])
    with statements_sent(ctx.engine) as sent, pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[1])  # the database says so
    assert sent

    with statements_sent(ctx.engine) as sent:
        with pytest.raises(QuotaExhausted, match=f"quota of scheme {scheme.code} is exhausted"):
            issue(ctx, scheme.code, people[2])
        # Before the person's own checks: the winner asking again hears the same.
        with pytest.raises(QuotaExhausted):
            issue(ctx, scheme.code, people[0])
    assert sent == []

    # Another scheme is not touched by it; and once the memory lapses the database is asked.
    issue(ctx, other.code, people[1])
    monotonic.now += 1.0
    with statements_sent(ctx.engine) as sent, pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[3])
    assert sent
    assert schemes.get_scheme(ctx, scheme.code).issued_count == 1


def test_without_a_memory_every_claim_asks_the_database(ctx: AppContext) -> None:
    ctx.settings = ctx.settings.model_copy(update={"quota_exhausted_memory_seconds": 0})
    deposit(ctx)
    scheme = make_scheme(ctx, issuance="claim", quota=1, budget_fen=10 * FACE)
    people = [person() for _ in range(3)]
    import_people(ctx, people)
    issue(ctx, scheme.code, people[0])
    with pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[1])
    with statements_sent(ctx.engine) as sent, pytest.raises(AlreadyExists):
        issue(ctx, scheme.code, people[0])
    assert sent
