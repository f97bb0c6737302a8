"""Transfers between two regions' special fund accounts, executed on a second approval.

A transfer is requested by someone whose scope covers the sending region, approved once, and
executed by a second approval from a third person: no one may approve their own request, nor
approve twice. Execution is one transaction: the sender's money goes back to the treasury
(TRANSFER_OUT) and the receiver's comes from it (TRANSFER_IN), each journal balanced within
its region, and the sender's guard column refuses to go below zero. Every step is a conditional
UPDATE on the status and version the transfer was read at, so racing approvers cannot both win.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.application.funds import open_fund_account
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.access import AccessDenied, Permission, Principal
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import JournalKind, Movement, TransferStatus
from skillvoucher.domain.regions import province_code
from skillvoucher.persistence.tables import FundTransfer
from skillvoucher.persistence.unit_of_work import UnitOfWork

OPEN = (TransferStatus.REQUESTED, TransferStatus.APPROVED_ONCE)


class ApproverNotIndependent(AccessDenied):
    """Four eyes: the requester may not approve, and the second approver must be another
    person than the first."""

    code = "approver_not_independent"


@dataclass(frozen=True)
class TransferView:
    transfer_id: uuid.UUID
    from_region: str
    to_region: str
    amount_fen: int
    reason: str
    status: TransferStatus
    requested_by: str
    first_approver: str | None
    second_approver: str | None
    requested_at: datetime
    decided_at: datetime | None


def _view(t: FundTransfer) -> TransferView:
    return TransferView(
        t.id,
        t.from_region,
        t.to_region,
        t.amount_fen,
        t.reason,
        t.status,
        t.requested_by,
        t.first_approver,
        t.second_approver,
        t.requested_at,
        t.decided_at,
    )


def request_transfer(
    ctx: AppContext,
    principal: Principal,
    from_region: str,
    to_region: str,
    amount_fen: int,
    reason: str,
) -> TransferView:
    """Ask for money to move from a region within the principal's scope to another region."""
    principal.require(Permission.FUND_TRANSFER_REQUEST)
    if amount_fen <= 0:
        raise InvalidInput("a transfer must move a positive number of fen")
    if from_region == to_region:
        raise InvalidInput("a transfer needs two different regions")
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        if uow.ledger.fund_account_within(from_region, principal.scope) is None:
            raise NotFound(f"the special fund of region {from_region} is not known")
        if uow.regions.get(to_region) is None:
            raise NotFound(f"region {to_region} is not known")
        transfer = FundTransfer(
            id=new_id(),
            from_region=from_region,
            to_region=to_region,
            region_code=from_region,
            province_code=province_code(from_region),
            amount_fen=amount_fen,
            reason=reason,
            status=TransferStatus.REQUESTED,
            requested_by=principal.label,
            first_approver=None,
            second_approver=None,
            requested_at=now,
            decided_at=None,
            version=1,
        )
        uow.transfers.add(transfer)
        uow.audit.record(
            at=now,
            actor=principal.label,
            action="fund.transfer_requested",
            entity_type="fund_transfer",
            entity_id=transfer.id,
            region_code=from_region,
            payload={"to_region": to_region, "amount_fen": amount_fen, "reason": reason},
        )
        uow.commit()
        return _view(transfer)


def _transfer(uow: UnitOfWork, principal: Principal, transfer_id: uuid.UUID) -> FundTransfer:
    # Decisions belong to the sending side: a transfer outside its scope is as good as unknown.
    transfer = uow.transfers.sent_within(transfer_id, principal.scope)
    if transfer is None:
        raise NotFound(f"transfer {transfer_id} is not known")
    return transfer


def _changed_meanwhile(transfer: FundTransfer) -> IllegalTransition:
    return IllegalTransition(f"transfer {transfer.id} changed meanwhile; read it again")


def approve_transfer(ctx: AppContext, principal: Principal, transfer_id: uuid.UUID) -> TransferView:
    """The first approval marks the transfer approved once; the second executes it."""
    principal.require(Permission.FUND_TRANSFER_APPROVE)
    now = ctx.clock()
    who = principal.label
    with ctx.unit_of_work() as uow:
        transfer = _transfer(uow, principal, transfer_id)
        before = _view(transfer)
        if transfer.status not in OPEN:
            raise IllegalTransition(
                f"transfer {transfer_id} is {transfer.status.value}, not awaiting approval"
            )
        if who == transfer.requested_by:
            raise ApproverNotIndependent("whoever requested a transfer may not approve it")
        if transfer.status is TransferStatus.REQUESTED:
            if not uow.transfers.move(
                transfer_id,
                TransferStatus.REQUESTED,
                transfer.version,
                TransferStatus.APPROVED_ONCE,
                first_approver=who,
            ):
                raise _changed_meanwhile(transfer)
            action = "fund.transfer_approved"
            after = replace(before, status=TransferStatus.APPROVED_ONCE, first_approver=who)
        else:
            if who == transfer.first_approver:
                raise ApproverNotIndependent("the second approval must come from another person")
            if not uow.transfers.move(
                transfer_id,
                TransferStatus.APPROVED_ONCE,
                transfer.version,
                TransferStatus.EXECUTED,
                second_approver=who,
                decided_at=now,
            ):
                raise _changed_meanwhile(transfer)
            _execute(uow, transfer, now)
            action = "fund.transfer_executed"
            after = replace(
                before, status=TransferStatus.EXECUTED, second_approver=who, decided_at=now
            )
        uow.audit.record(
            at=now,
            actor=who,
            action=action,
            entity_type="fund_transfer",
            entity_id=transfer_id,
            region_code=transfer.from_region,
            payload={"to_region": transfer.to_region, "amount_fen": transfer.amount_fen},
        )
        if action == "fund.transfer_executed":
            # The receiving region's own trail shows the money arriving.
            uow.audit.record(
                at=now,
                actor=who,
                action="fund.transfer_received",
                entity_type="fund_transfer",
                entity_id=transfer_id,
                region_code=transfer.to_region,
                payload={"from_region": transfer.from_region, "amount_fen": transfer.amount_fen},
            )
        uow.commit()
    # What this approval did, not what others may have done since.
    return after


def _execute(uow: UnitOfWork, transfer: FundTransfer, now: datetime) -> None:
    """Move the money; InsufficientFunds rolls the whole approval back."""
    open_fund_account(uow, transfer.to_region, now)
    uow.ledger.post_many(
        [
            Movement(JournalKind.TRANSFER_OUT, transfer.amount_fen, transfer.from_region),
            Movement(JournalKind.TRANSFER_IN, transfer.amount_fen, transfer.to_region),
        ],
        now,
    )


def reject_transfer(
    ctx: AppContext, principal: Principal, transfer_id: uuid.UUID, reason: str
) -> TransferView:
    """Refuse a transfer that has not been executed; nothing moves."""
    principal.require(Permission.FUND_TRANSFER_APPROVE)
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        transfer = _transfer(uow, principal, transfer_id)
        if transfer.status not in OPEN:
            raise IllegalTransition(
                f"transfer {transfer_id} is {transfer.status.value}, not awaiting approval"
            )
        if not uow.transfers.move(
            transfer_id,
            transfer.status,
            transfer.version,
            TransferStatus.REJECTED,
            decided_at=now,
        ):
            raise _changed_meanwhile(transfer)
        uow.audit.record(
            at=now,
            actor=principal.label,
            action="fund.transfer_rejected",
            entity_type="fund_transfer",
            entity_id=transfer_id,
            region_code=transfer.from_region,
            payload={"reason": reason},
        )
        uow.commit()
        return replace(_view(transfer), status=TransferStatus.REJECTED, decided_at=now)


def list_transfers(
    ctx: AppContext,
    principal: Principal,
    status: TransferStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[TransferView]:
    """Transfers sent from or received into the principal's scope, newest first."""
    principal.require(Permission.FUND_READ)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        rows = uow.transfers.page(principal.scope, status, cursor_id(cursor), limit + 1)
        views = [_view(t) for t in rows]
    return page_of(views, limit, lambda v: v.transfer_id)
