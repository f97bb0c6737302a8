"""Posting rules of the region's special fund for vocational-skills training.

The ledger is double-entry and append-only: every journal is a set of postings that add up to
zero, and a balance is only ever the sum of postings. Buckets (accounts) hold money, so a
positive balance means money sits there; ``treasury`` is the outside world and goes negative
by exactly what was deposited.

    deposit      treasury          → fund_available
    allocation   fund_available    → scheme_available     (per scheme)
    commitment   scheme_available  → committed            (per voucher, at issue)
    release      committed         → scheme_available     (expiry, revocation, unused value)
    payable      committed         → payable              (a settlement stage is earned)
    paid         payable           → paid                 (a settlement batch is paid)
    reversal     the inverse of an earlier journal (claw-back); never an edit
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class Account(StrEnum):
    TREASURY = "treasury"
    FUND_AVAILABLE = "fund_available"
    SCHEME_AVAILABLE = "scheme_available"
    COMMITTED = "committed"
    PAYABLE = "payable"
    PAID = "paid"


class JournalKind(StrEnum):
    DEPOSIT = "deposit"
    ALLOCATION = "allocation"
    COMMITMENT = "commitment"
    RELEASE = "release"
    PAYABLE = "payable"
    PAID = "paid"
    REVERSAL = "reversal"
    # A transfer between two regions' special accounts is two journals in one transaction: the
    # sender's money goes back to the treasury and the receiver's comes from it, so that each
    # journal balances inside one region.
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


class TransferStatus(StrEnum):
    REQUESTED = "requested"  # waiting for its first approval
    APPROVED_ONCE = "approved_once"  # waiting for a second, different approver
    EXECUTED = "executed"  # approved twice; the money has moved
    REJECTED = "rejected"


# Which bucket a journal kind moves money from and to. Reversals swap a pair.
MOVES: dict[JournalKind, tuple[Account, Account]] = {
    JournalKind.DEPOSIT: (Account.TREASURY, Account.FUND_AVAILABLE),
    JournalKind.ALLOCATION: (Account.FUND_AVAILABLE, Account.SCHEME_AVAILABLE),
    JournalKind.COMMITMENT: (Account.SCHEME_AVAILABLE, Account.COMMITTED),
    JournalKind.RELEASE: (Account.COMMITTED, Account.SCHEME_AVAILABLE),
    JournalKind.PAYABLE: (Account.COMMITTED, Account.PAYABLE),
    JournalKind.PAID: (Account.PAYABLE, Account.PAID),
    JournalKind.TRANSFER_OUT: (Account.FUND_AVAILABLE, Account.TREASURY),
    JournalKind.TRANSFER_IN: (Account.TREASURY, Account.FUND_AVAILABLE),
}

# Buckets that may never go below zero. The treasury is the only one that does, by design.
NON_NEGATIVE = frozenset(set(Account) - {Account.TREASURY})


@dataclass(frozen=True)
class Posting:
    account: Account
    amount_fen: int


@dataclass(frozen=True)
class Movement:
    """One balanced journal: ``amount_fen`` leaves ``source`` and arrives in ``target``."""

    kind: JournalKind
    amount_fen: int
    region_code: str
    scheme_id: UUID | None = None
    voucher_id: UUID | None = None
    institution_id: UUID | None = None
    settlement_batch_id: UUID | None = None

    def __post_init__(self) -> None:
        if self.amount_fen <= 0:
            raise ValueError(f"a {self.kind.value} must move a positive amount of fen")
        if self.kind is JournalKind.REVERSAL:
            raise ValueError("build reversals with reverse(), which names what they undo")

    def postings(self) -> tuple[Posting, Posting]:
        source, target = MOVES[self.kind]
        return Posting(source, -self.amount_fen), Posting(target, self.amount_fen)


@dataclass(frozen=True)
class Reversal:
    """The inverse of an earlier movement of ``original`` kind (claw-back)."""

    original: JournalKind
    amount_fen: int
    region_code: str
    scheme_id: UUID | None = None
    voucher_id: UUID | None = None
    institution_id: UUID | None = None
    settlement_batch_id: UUID | None = None

    kind = JournalKind.REVERSAL

    def postings(self) -> tuple[Posting, Posting]:
        source, target = MOVES[self.original]
        return Posting(target, -self.amount_fen), Posting(source, self.amount_fen)
