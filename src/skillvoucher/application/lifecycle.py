"""Side exits: vouchers expire or are revoked, and their unspent value returns to the scheme."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from skillvoucher.application.context import AppContext
from skillvoucher.domain.errors import IllegalTransition, NotFound
from skillvoucher.domain.ledger import JournalKind, Movement
from skillvoucher.domain.vouchers import VoucherEvent, VoucherStatus, next_status, sources_of


def expire_vouchers(ctx: AppContext, progress: Callable[[int], None] | None = None) -> int:
    """Expire every issued voucher past its validity, in chunks; safe to re-run at any time."""
    expired = 0
    while True:
        now = ctx.clock()
        with ctx.unit_of_work() as uow:
            due = uow.vouchers.expirable(now, ctx.settings.chunk_size)
            if not due:
                break
            releases = []
            events = []
            for voucher in due:
                if uow.vouchers.transition(
                    voucher.id, [VoucherStatus.ISSUED], VoucherStatus.EXPIRED, closed_at=now
                ):
                    releases.append(
                        Movement(
                            JournalKind.RELEASE,
                            voucher.face_value_fen,
                            voucher.region_code,
                            scheme_id=voucher.scheme_id,
                            voucher_id=voucher.id,
                        )
                    )
                    events.append(
                        {
                            "occurred_at": now,
                            "actor": ctx.actor,
                            "action": "voucher.expired",
                            "entity_type": "voucher",
                            "entity_id": str(voucher.id),
                            "region_code": voucher.region_code,
                            "payload": {"released_fen": voucher.face_value_fen},
                        }
                    )
            uow.ledger.post_many(releases, now)
            uow.audit.record_many(events)
            uow.commit()
        expired += len(releases)
        if progress is not None:
            progress(expired)
    return expired


def revoke_voucher(ctx: AppContext, voucher_id: uuid.UUID, reason: str) -> int:
    """Revoke a voucher that has not completed; returns the fen released back to the scheme.

    What the institution already earned stays payable; only the still-committed value returns.
    """
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        if voucher is None:
            raise NotFound(f"voucher {voucher_id} is not known")
        target = next_status(voucher.status, VoucherEvent.REVOKE)
        if not uow.vouchers.transition(
            voucher_id, sources_of(VoucherEvent.REVOKE), target, closed_at=now
        ):
            raise IllegalTransition(f"voucher {voucher_id} changed meanwhile; try again")
        enrolment = uow.vouchers.active_enrolment(voucher_id)
        if enrolment is not None:
            uow.vouchers.cancel_enrolment(enrolment.id, now)
            uow.catalogue.free_seat(enrolment.course_id)
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
