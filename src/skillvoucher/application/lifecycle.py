"""Side exits: vouchers expire or are revoked, and their unspent value returns to the scheme."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial

from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.domain.errors import IllegalTransition, NotFound
from skillvoucher.domain.ledger import Account, JournalKind, Movement, Reversal
from skillvoucher.domain.vouchers import VoucherEvent, VoucherStatus, next_status, sources_of
from skillvoucher.persistence.tables import Voucher
from skillvoucher.persistence.unit_of_work import UnitOfWork


def expire_vouchers(ctx: AppContext, progress: Callable[[int], None] | None = None) -> int:
    """Expire every issued voucher past its validity, in chunks; safe to re-run at any time."""
    (source,) = sources_of(VoucherEvent.EXPIRE)
    target = next_status(source, VoucherEvent.EXPIRE)
    expired = 0
    while True:
        # Safe to run again (retries.py): the UPDATE moves only vouchers still in ``source``,
        # so a rolled-back chunk is redone and a landed one is not selected twice.
        moved = retry_chunk(ctx, "expiry", partial(_expire_chunk, ctx, source, target))
        if not moved:
            break
        expired += moved
        if progress is not None:
            progress(expired)
    return expired


def _expire_chunk(ctx: AppContext, source: VoucherStatus, target: VoucherStatus) -> int:
    """Expire up to a chunk of due vouchers and release their value, in one transaction."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        moved = uow.vouchers.expire_due(now, ctx.settings.chunk_size, source, target)
        if not moved:
            return 0
        releases = [
            Movement(JournalKind.RELEASE, face, region, scheme_id=scheme, voucher_id=voucher)
            for voucher, scheme, region, face in moved
        ]
        uow.ledger.post_many(releases, now)
        uow.audit.record_many(
            {
                "occurred_at": now,
                "actor": ctx.actor,
                "action": "voucher.expired",
                "entity_type": "voucher",
                "entity_id": str(voucher),
                "region_code": region,
                "payload": {"released_fen": face},
            }
            for voucher, _scheme, region, face in moved
        )
        uow.commit()
    return len(moved)


def _close(uow: UnitOfWork, voucher_id: uuid.UUID, event: VoucherEvent, now: datetime) -> Voucher:
    """Move a voucher out of use by ``event`` and give back its seat on the course."""
    voucher = uow.vouchers.get(voucher_id)
    if voucher is None:
        raise NotFound(f"voucher {voucher_id} is not known")
    target = next_status(voucher.status, event)
    if not uow.vouchers.transition(voucher_id, sources_of(event), target, closed_at=now):
        raise IllegalTransition(f"voucher {voucher_id} changed meanwhile; try again")
    enrolment = uow.vouchers.active_enrolment(voucher_id)
    if enrolment is not None:
        uow.vouchers.cancel_enrolment(enrolment.id, now)
        uow.catalogue.free_seat(enrolment.course_id)
    return voucher


def revoke_voucher(ctx: AppContext, voucher_id: uuid.UUID, reason: str) -> int:
    """Revoke a voucher that has not completed; returns the fen released back to the scheme.

    What the institution already earned stays payable; only the still-committed value returns.
    """
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        voucher = _close(uow, voucher_id, VoucherEvent.REVOKE, now)
        still_committed = uow.ledger.committed_by_voucher([voucher_id]).get(voucher_id, 0)
        if still_committed > 0:
            uow.ledger.post(
                Movement(
                    JournalKind.RELEASE,
                    still_committed,
                    voucher.region_code,
                    scheme_id=voucher.scheme_id,
                    voucher_id=voucher_id,
                ),
                now,
            )
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="voucher.revoked",
            entity_type="voucher",
            entity_id=voucher_id,
            region_code=voucher.region_code,
            payload={"reason": reason, "released_fen": still_committed},
        )
        uow.commit()
    return still_committed


def claw_back_voucher(ctx: AppContext, voucher_id: uuid.UUID, reason: str) -> int:
    """Take back everything a voucher earned (fraud or error found later) and revoke it.

    Reversal journals undo what was paid and what is payable, and the value then returns to
    the scheme; nothing already posted is edited. Returns the fen recovered for the scheme.
    """
    with ctx.unit_of_work() as uow:
        recovered = claw_back_within(ctx, uow, voucher_id, reason)
        uow.commit()
    return recovered


def claw_back_within(ctx: AppContext, uow: UnitOfWork, voucher_id: uuid.UUID, reason: str) -> int:
    """``claw_back_voucher`` inside the caller's unit of work (an upheld dispute's)."""
    now = ctx.clock()
    voucher = _close(uow, voucher_id, VoucherEvent.CLAW_BACK, now)
    # Lines not yet paid must never be paid now: their batch pays without them.
    withheld = uow.settlement.withhold_unpaid_lines(voucher_id, now)
    held = uow.ledger.voucher_balances(voucher_id)
    paid, payable = held[Account.PAID], held[Account.PAYABLE]
    where = (voucher.region_code, voucher.scheme_id, voucher_id, voucher.institution_id)
    journals: list[Movement | Reversal] = []
    if paid > 0:
        journals.append(Reversal(JournalKind.PAID, paid, *where))
    if paid + payable > 0:
        journals.append(Reversal(JournalKind.PAYABLE, paid + payable, *where))
    recovered = paid + payable + held[Account.COMMITTED]
    if recovered > 0:
        journals.append(Movement(JournalKind.RELEASE, recovered, *where))
    uow.ledger.post_many(journals, now)
    uow.audit.record(
        at=now,
        actor=ctx.actor,
        action="voucher.clawed_back",
        entity_type="voucher",
        entity_id=voucher_id,
        region_code=voucher.region_code,
        payload={
            "reason": reason,
            "paid_fen": paid,
            "payable_fen": payable,
            "lines_withheld": withheld,
        },
    )
    return recovered
