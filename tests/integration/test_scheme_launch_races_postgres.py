"""A launch and changes of the same draft, at once on PostgreSQL: whichever comes first, the
budget the launch allocates from the fund is the budget the scheme stores.

The launch locks the scheme's row as the draft editor does, so a change either lands before
the launch (which then allocates the new budget) or waits and finds the scheme launched.
SQLite serialises writers, so only PostgreSQL can show it. Each thread has its own connection
and a barrier releases them together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from builders import CITY, Clock, deposit, make_scheme, scheme_document
from skillvoucher.application import schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.scheme_drafts import update_draft
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.credentials.keys import KeyStore
from skillvoucher.domain.access import Principal, PrincipalKind, Role, Scope, permissions_for
from skillvoucher.domain.errors import IllegalTransition
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.schemes import SchemeStatus
from skillvoucher.persistence.database import create_engine_for, session_factory
from skillvoucher.persistence.tables import LedgerEntry

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

EDITORS = 4
ROUNDS = 6
FIRST_BUDGET = 1_000_000


@pytest.fixture
def crowd_ctx(ctx: AppContext, clock: Clock) -> Iterator[AppContext]:
    """The test's context with a connection for every racer."""
    engine = create_engine_for(
        ctx.settings.resolved_database_url, pool_size=EDITORS + 1, max_overflow=0
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


def city_admin() -> Principal:
    role = Role.CITY_ADMIN
    return Principal(
        PrincipalKind.STAFF, new_id(), role, permissions_for(role), Scope.of_region(CITY), "staff:t"
    )


def race(attempts: list[Callable[[], object]]) -> list[BaseException | None]:
    """Every attempt in its own thread, released together; each one's error, or None."""
    barrier = threading.Barrier(len(attempts))
    errors: list[BaseException | None] = [None] * len(attempts)

    def run(index: int) -> None:
        barrier.wait()
        try:
            attempts[index]()
        except BaseException as error:
            errors[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a racer is stuck"
    return errors


def allocated_to(ctx: AppContext, code: str) -> tuple[int, int, int]:
    """(stored budget, available, allocated by the ledger) of the scheme."""
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(code)
        assert scheme is not None
        allocated = uow.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0)).where(
                LedgerEntry.scheme_id == scheme.id,
                LedgerEntry.kind == JournalKind.ALLOCATION,
                LedgerEntry.account == Account.SCHEME_AVAILABLE,
            )
        )
        return scheme.budget_fen, scheme.available_fen, abs(int(allocated or 0))


def draft_with_budget(code: str, budget_fen: int) -> Any:
    return parse_scheme_document(scheme_document(code=code, budget_fen=budget_fen))


def test_a_launch_racing_draft_changes_allocates_the_budget_the_scheme_stores(
    ctx: AppContext, crowd_ctx: AppContext
) -> None:
    deposit(ctx, amount_fen=100_000_000)
    admin = city_admin()
    for round_no in range(ROUNDS):
        code = f"TY-RACE-{round_no}"
        make_scheme(ctx, code=code, budget_fen=FIRST_BUDGET, launch=False)
        editors: list[Callable[[], object]] = [
            partial(
                update_draft,
                crowd_ctx,
                admin,
                code,
                draft_with_budget(code, FIRST_BUDGET + (i + 1) * 10_000),
            )
            for i in range(EDITORS)
        ]
        launch = partial(schemes.change_status, crowd_ctx, code, SchemeStatus.ACTIVE)
        # The launch in the middle of the crowd: some editors may start before it, some after.
        errors = race([*editors[:2], launch, *editors[2:]])

        assert errors[2] is None, repr(errors[2])
        for error in errors:
            if error is not None and not isinstance(error, IllegalTransition):
                raise AssertionError(f"unexpected {error!r}") from error
        budget, available, allocated = allocated_to(ctx, code)
        assert schemes.get_scheme(ctx, code).status is SchemeStatus.ACTIVE
        assert allocated == budget, (round_no, budget, allocated)
        assert available == budget
    assert ledger_problems(ctx) == []


def test_a_change_waits_for_a_launch_that_read_the_draft_and_then_finds_it_launched(
    ctx: AppContext, crowd_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deterministic interleaving: the launch has read the draft and pauses before
    allocating; the change must wait for it, not slip in between."""
    deposit(ctx, amount_fen=100_000_000)
    make_scheme(ctx, code="TY-RACE", budget_fen=FIRST_BUDGET, launch=False)
    launch_read = threading.Event()
    change_done = threading.Event()
    launch_allocating = schemes._launch

    def paused_launch(*args: Any) -> None:
        launch_read.set()
        change_done.wait(2)  # long enough for an unblocked change to commit
        launch_allocating(*args)

    monkeypatch.setattr(schemes, "_launch", paused_launch)
    launch_errors: list[BaseException] = []

    def launch() -> None:
        try:
            schemes.change_status(crowd_ctx, "TY-RACE", SchemeStatus.ACTIVE)
        except BaseException as error:
            launch_errors.append(error)

    launcher = threading.Thread(target=launch)
    launcher.start()
    assert launch_read.wait(30)
    with pytest.raises(IllegalTransition, match="only a draft can be changed"):
        update_draft(
            crowd_ctx, city_admin(), "TY-RACE", draft_with_budget("TY-RACE", 2 * FIRST_BUDGET)
        )
    change_done.set()
    launcher.join(30)
    assert not launcher.is_alive()
    assert launch_errors == []
    assert allocated_to(ctx, "TY-RACE") == (FIRST_BUDGET, FIRST_BUDGET, FIRST_BUDGET)
