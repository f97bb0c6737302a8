"""Per-voucher accounting check, as one grouped query rather than one query per voucher."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.vouchers import TERMINAL_STATUSES
from skillvoucher.persistence.tables import LedgerEntry, Voucher


def voucher_accounting(session: Session) -> list[str]:
    """Problems with any voucher's accounting; empty when every fen is where it should be."""
    amount = LedgerEntry.amount_fen
    committed_in = sa.func.coalesce(
        sa.func.sum(
            sa.case(
                (
                    sa.and_(
                        LedgerEntry.kind == JournalKind.COMMITMENT,
                        LedgerEntry.account == Account.COMMITTED,
                    ),
                    amount,
                ),
                else_=0,
            )
        ),
        0,
    )
    held = sa.func.coalesce(
        sa.func.sum(
            sa.case(
                (
                    LedgerEntry.account.in_([Account.COMMITTED, Account.PAYABLE, Account.PAID]),
                    amount,
                ),
                else_=0,
            )
        ),
        0,
    )
    committed_now = sa.func.coalesce(
        sa.func.sum(sa.case((LedgerEntry.account == Account.COMMITTED, amount), else_=0)), 0
    )
    # What releases took out of the voucher's committed bucket: a release journal of its own
    # and a chunk's batch release (one scheme-side posting for many vouchers) alike.
    released = sa.func.coalesce(
        sa.func.sum(
            sa.case(
                (
                    sa.and_(
                        LedgerEntry.kind == JournalKind.RELEASE,
                        LedgerEntry.account == Account.COMMITTED,
                    ),
                    -amount,
                ),
                else_=0,
            )
        ),
        0,
    )
    stmt = (
        sa.select(
            Voucher.id,
            Voucher.status,
            Voucher.face_value_fen,
            committed_in,
            held,
            released,
            committed_now,
        )
        .outerjoin(LedgerEntry, LedgerEntry.voucher_id == Voucher.id)
        .group_by(Voucher.id, Voucher.status, Voucher.face_value_fen)
    )
    problems = []
    for voucher_id, status, face, took, kept, gave_back, still in session.execute(stmt):
        if took != face:
            problems.append(f"voucher {voucher_id}: committed {took} fen for a face of {face}")
        elif kept + gave_back != face:
            problems.append(
                f"voucher {voucher_id}: {kept} held + {gave_back} released != face {face}"
            )
        elif status in TERMINAL_STATUSES and still != 0:
            problems.append(f"voucher {voucher_id} is {status.value} but still commits {still}")
    return problems
