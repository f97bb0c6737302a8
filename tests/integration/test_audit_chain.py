"""The audit trail is a hash chain per province: intact after real work (and concurrent work),
and any edited, deleted, reordered or cut-off event is found and named."""

from __future__ import annotations

import itertools
import threading

import pytest
import sqlalchemy as sa

from builders import OTHER_CITY, deposit, enrol, issue, training_world
from skillvoucher.application import funds
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.persistence.tables import AuditChainHead, AuditEvent


def _a_working_world(ctx: AppContext) -> None:
    world = training_world(ctx, people=3)
    for holder in world.people:
        voucher = issue(ctx, world.scheme.code, holder)
        enrol(ctx, voucher.voucher_id, world.institution)
    deposit(ctx, region=OTHER_CITY)
    deposit(ctx, region="110000")  # a second province: a second chain


def _events(ctx: AppContext, province: str = "140000") -> list[AuditEvent]:
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(AuditEvent)
            .where(AuditEvent.province_code == province)
            .order_by(AuditEvent.seq)
        )
        return list(uow.session.scalars(stmt))


def _execute(ctx: AppContext, statement: sa.Executable) -> None:
    with ctx.engine.begin() as connection:
        connection.execute(statement)


def test_real_work_leaves_intact_chains(ctx: AppContext) -> None:
    _a_working_world(ctx)
    result = verify_audit_chain(ctx)
    assert result.intact, result.breaks
    assert result.chains == 2
    events = _events(ctx)
    assert result.events == len(events) + len(_events(ctx, "110000"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.prev_hash == before.hash for before, e in itertools.pairwise(events))


def test_an_edited_event_is_named(ctx: AppContext) -> None:
    _a_working_world(ctx)
    victim = _events(ctx)[4]
    _execute(
        ctx,
        sa.update(AuditEvent).where(AuditEvent.id == victim.id).values(actor="someone else"),
    )
    result = verify_audit_chain(ctx)
    (found,) = result.breaks
    assert (found.province_code, found.seq, found.event_id) == ("140000", 5, str(victim.id))
    assert "changed" in found.reason


def test_a_deleted_event_is_found_at_the_gap(ctx: AppContext) -> None:
    _a_working_world(ctx)
    events = _events(ctx)
    _execute(ctx, sa.delete(AuditEvent).where(AuditEvent.id == events[2].id))
    (found,) = verify_audit_chain(ctx).breaks
    assert (found.seq, found.event_id) == (4, str(events[3].id))
    assert "missing" in found.reason


def test_reordered_events_are_found(ctx: AppContext) -> None:
    _a_working_world(ctx)
    first, second = _events(ctx)[1:3]
    # Swap their places in the chain (through a free seq, for the unique constraint).
    for event_id, seq in ((first.id, -1), (second.id, first.seq), (first.id, second.seq)):
        _execute(ctx, sa.update(AuditEvent).where(AuditEvent.id == event_id).values(seq=seq))
    (found,) = verify_audit_chain(ctx).breaks
    assert found.seq == 2


def test_a_cut_off_tail_is_found_against_the_head(ctx: AppContext) -> None:
    _a_working_world(ctx)
    last = _events(ctx)[-1]
    _execute(ctx, sa.delete(AuditEvent).where(AuditEvent.id == last.id))
    (found,) = verify_audit_chain(ctx).breaks
    assert found.event_id is None
    assert "head" in found.reason


def test_a_rewritten_event_with_a_recomputed_plain_hash_still_fails(ctx: AppContext) -> None:
    """Without the key (kept outside the database) no one can forge a valid link."""
    import hashlib

    _a_working_world(ctx)
    victim = _events(ctx)[3]
    forged = hashlib.sha256(b"rewritten").hexdigest()
    _execute(
        ctx,
        sa.update(AuditEvent)
        .where(AuditEvent.id == victim.id)
        .values(payload={"forged": True}, hash=forged),
    )
    assert not verify_audit_chain(ctx).intact


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_writers_in_two_provinces_keep_both_chains_whole(ctx: AppContext) -> None:
    deposit(ctx)  # Taiyuan (Shanxi) has a fund account
    regions = ["140100", "110000"] * 8
    barrier = threading.Barrier(len(regions))
    failures: list[BaseException] = []

    def write(region: str) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                funds.deposit(ctx, region, 100, "concurrent")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(r,)) for r in regions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    result = verify_audit_chain(ctx)
    assert result.intact, result.breaks
    with ctx.unit_of_work() as uow:
        heads = {h.province_code: h.seq for h in uow.session.scalars(sa.select(AuditChainHead))}
    assert heads["110000"] == 8 * 5
    assert heads["140000"] == 1 + 8 * 5
