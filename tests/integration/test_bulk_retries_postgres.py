"""Bulk jobs survive dropped connections, a PostgreSQL "restart" and transient refusals in the
same call: the broken chunk is retried (application/retries.py) and the end state equals an
uninterrupted twin, with the ledger balanced and the audit chain intact.

Faults are injected by tests/integration/bulk_faults.py; each test asserts that they fired and
that retries happened. `pytest -s` prints the figures (benchmarks/faults_bulk_jobs.py prints
them as a table).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from bulk_faults import (
    Fault,
    Outcome,
    counted_retries,
    expiry_with_faults,
    injected,
    push_with_faults,
    settlement_with_faults,
)
from test_crash_safety import ENROLLED, FINISHED, INSTITUTIONS

from builders import Clock, import_people, person
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.issuance import PushResult
from skillvoucher.application.settlement import SettlementRun
from skillvoucher.persistence.database import DatabaseUnavailable
from skillvoucher.persistence.tables import AuditEvent, Person

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
PEOPLE = 3000
DUE = 1500


@pytest.fixture(autouse=True)
def _short_backoff(ctx: AppContext) -> None:
    # The policy, not its waiting, is under test: a few milliseconds instead of 0.2 s and up.
    ctx.settings = ctx.settings.model_copy(update={"retry_base_seconds": 0.005})


def _report(outcome: Outcome) -> None:
    print(
        f"\n[bulk retries] {outcome.job}: faults={'; '.join(map(str, outcome.faults))}, "
        f"retries={outcome.retries}, expected={outcome.expected}, found={outcome.found}, "
        f"ok={outcome.ok}; {outcome.seconds:.1f} s"
    )


def _assert_survived(outcome: Outcome, faults: list[Fault], retries: int) -> None:
    _report(outcome)
    fired = sorted(outcome.faults, key=str)
    assert fired == sorted(faults, key=str), "a fault did not fire: fewer statements ran"
    assert outcome.retries == retries > 0
    assert outcome.found == outcome.expected
    assert outcome.twin_equal
    assert outcome.ledger_balanced
    assert outcome.audit_chain_ok


def test_push_issuance_survives_killed_connections_at_inserts_and_a_commit(
    ctx: AppContext,
) -> None:
    # A chunk's vouchers and postings go by COPY, which the faults do not count: its one
    # INSERT is the audit event's, so the 60 chunks run about 60 INSERTs.
    faults = [
        Fault("INSERT", 5),
        Fault("COMMIT", 9),
        Fault("INSERT", 31),
        Fault("INSERT", 32),  # the retry of the chunk killed at 31, or the chunk beside it
        Fault("COMMIT", 40),
    ]
    outcome = push_with_faults(ctx, PEOPLE, faults)
    _assert_survived(outcome, faults, retries=len(faults))
    assert outcome.result == PushResult(PEOPLE, 0, 0)  # counted right: no commit had landed


def test_push_issuance_survives_a_serialization_failure_and_a_deadlock(ctx: AppContext) -> None:
    faults = [Fault("INSERT", 12, "40001"), Fault("UPDATE", 20, "40P01")]
    outcome = push_with_faults(ctx, PEOPLE, faults)
    _assert_survived(outcome, faults, retries=2)
    assert outcome.result == PushResult(PEOPLE, 0, 0)


def test_push_issuance_survives_a_restart_every_connection_killed_and_connects_refused(
    ctx: AppContext,
) -> None:
    faults = [Fault("INSERT", 30, "kill all", refuse=2)]
    outcome = push_with_faults(ctx, PEOPLE, faults)
    # One retry per chunk in flight when every connection is killed (two chunks are written at
    # once: one or two of them), one per refused connection attempt.
    assert outcome.retries in (3, 4)
    _assert_survived(outcome, faults, retries=outcome.retries)
    assert outcome.result == PushResult(PEOPLE, 0, 0)


def test_expiry_survives_killed_connections_and_a_restart(ctx: AppContext, clock: Clock) -> None:
    faults = [
        Fault("UPDATE", 3),
        Fault("COMMIT", 10),
        # A chunk writes one INSERT (its audit events; the release journal is a COPY).
        Fault("INSERT", 15, "kill all", refuse=1),
        Fault("INSERT", 25, "40001"),
    ]
    outcome = expiry_with_faults(ctx, clock, DUE, faults)
    # "kill all" costs a retry for each chunk in flight (two are expired at once: one or two
    # of them), the refused connection attempt one more, the other faults one each.
    assert outcome.retries in (5, 6)
    _assert_survived(outcome, faults, retries=outcome.retries)
    assert outcome.result == DUE


def test_a_settlement_run_survives_killed_connections_and_a_deadlock(
    ctx: AppContext, clock: Clock
) -> None:
    faults = [
        Fault("INSERT", 2),
        Fault("COMMIT", 3),
        Fault("UPDATE", 4, "40P01"),
        Fault("INSERT", 20, "kill all", refuse=1),
    ]
    outcome = settlement_with_faults(ctx, clock, faults)
    _assert_survived(outcome, faults, retries=5)
    assert isinstance(outcome.result, SettlementRun)
    assert len(outcome.result.created) == INSTITUTIONS  # the faulted twins, built in this run
    assert outcome.result.already_settled == INSTITUTIONS  # the reference twins
    assert outcome.expected == INSTITUTIONS * (ENROLLED + FINISHED)


def test_push_chunks_whose_commit_landed_unseen_are_found_done_not_redone(
    ctx: AppContext,
) -> None:
    """The connection "breaks" after the server committed: the retry must not write the chunk
    twice. The books match the twin, and the count (taken from the quota) is right too."""
    faults = [Fault("COMMIT", 4, "landed"), Fault("COMMIT", 20, "landed")]
    outcome = push_with_faults(ctx, PEOPLE, faults)
    _assert_survived(outcome, faults, retries=2)
    assert outcome.result == PushResult(PEOPLE, 0, 0)


def test_expiry_finds_a_landed_chunk_done(ctx: AppContext, clock: Clock) -> None:
    faults = [Fault("COMMIT", 3, "landed")]
    outcome = expiry_with_faults(ctx, clock, DUE, faults)
    _assert_survived(outcome, faults, retries=1)
    assert outcome.result == DUE - ctx.settings.chunk_size  # the unseen chunk is not counted


def test_a_settlement_run_finds_a_landed_batch_done(ctx: AppContext, clock: Clock) -> None:
    faults = [Fault("COMMIT", 2, "landed")]
    outcome = settlement_with_faults(ctx, clock, faults)
    _assert_survived(outcome, faults, retries=1)
    assert isinstance(outcome.result, SettlementRun)
    assert len(outcome.result.created) == INSTITUTIONS - 1  # built, but not seen to be
    assert outcome.result.already_settled == INSTITUTIONS + 1


def test_a_registry_import_survives_killed_connections_and_a_serialization_failure(
    ctx: AppContext,
) -> None:
    people = [person(name=f"求职者{i}") for i in range(500)]
    faults = [Fault("INSERT", 3), Fault("COMMIT", 6), Fault("INSERT", 8, "40001")]
    with counted_retries() as log, injected(ctx, faults) as injection:
        report = import_people(ctx, people)
    assert sorted(injection.fired, key=str) == sorted(faults, key=str)
    assert log.retries == 3
    assert (report.inserted, report.updated, report.unchanged, report.problems) == (500, 0, 0, [])
    with ctx.unit_of_work() as uow:
        stored = uow.session.scalar(sa.select(sa.func.count(Person.id)))
        events = uow.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "registry.people_imported"
            )
        )
    assert stored == 500
    assert events == 500 // ctx.settings.chunk_size  # one per chunk, none twice
    assert verify_audit_chain(ctx).intact


def test_a_job_gives_up_with_a_clear_error_when_the_database_stays_away(
    ctx: AppContext,
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"retry_attempts": 3})
    # The server stays away for longer than any chunk's attempts can last. Not just a few
    # refusals: two chunks and the span reader retry side by side, so a handful of refusals
    # can be shared out among them without any one of them failing three times.
    faults = [Fault("INSERT", 30, "kill all", refuse=1000)]
    with pytest.raises(DatabaseUnavailable) as failed:
        push_with_faults(ctx, PEOPLE, faults)
    assert "push issuance: the database failed the same chunk 3 times" in failed.value.message
