"""The fund ledger: append-only postings plus the guard columns that keep buckets >= 0.

``fund_accounts.available_fen`` and ``schemes.available_fen`` mirror the ``fund_available`` and
``scheme_available`` buckets. They are changed only here, by SQL expressions in the same
transaction as the postings, with a condition that refuses to take them below zero; so two
concurrent issuances can never overdraw a scheme. ``balances_agree`` proves they never drift.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.errors import InsufficientFunds
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import MOVES, Account, JournalKind, Movement, Reversal
from skillvoucher.domain.regions import province_code
from skillvoucher.persistence.bulk_copy import NULL, as_uuid, copies, copy_lines, text_id
from skillvoucher.persistence.repositories.dialect import (
    bulk_insert,
    plain_update,
    rows_changed,
    upsert_insert,
)
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import FundAccount, LedgerEntry, Region, Scheme

Journal = Movement | Reversal


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def post(self, journal: Journal, at: datetime) -> None:
        self.post_many([journal], at)

    def post_many(self, journals: Sequence[Journal], at: datetime) -> None:
        """Write every journal's postings and move the guarded buckets, or raise and write none.

        The caller's transaction rolls back on InsufficientFunds, so nothing half-written stays.
        """
        rows = []
        fund_delta: dict[str, int] = defaultdict(int)
        scheme_delta: dict[uuid.UUID, int] = defaultdict(int)
        for journal in journals:
            journal_id = new_id()
            reverses = journal.original if isinstance(journal, Reversal) else None
            for posting in journal.postings():
                rows.append(
                    {
                        "id": new_id(),
                        "journal_id": journal_id,
                        "kind": journal.kind,
                        "reverses": reverses,
                        "account": posting.account,
                        "amount_fen": posting.amount_fen,
                        "region_code": journal.region_code,
                        "province_code": province_code(journal.region_code),
                        "scheme_id": journal.scheme_id,
                        "voucher_id": journal.voucher_id,
                        "institution_id": journal.institution_id,
                        "settlement_batch_id": journal.settlement_batch_id,
                        "created_at": at,
                    }
                )
                if posting.account is Account.FUND_AVAILABLE:
                    fund_delta[journal.region_code] += posting.amount_fen
                elif posting.account is Account.SCHEME_AVAILABLE:
                    if journal.scheme_id is None:
                        raise ValueError("a scheme_available posting needs a scheme")
                    scheme_delta[journal.scheme_id] += posting.amount_fen
        # Guards in primary-key order, so concurrent transactions lock rows in the same order.
        for region_code in sorted(fund_delta):
            self._move_fund(region_code, fund_delta[region_code])
        for scheme_id in sorted(scheme_delta):
            self._move_scheme(scheme_id, scheme_delta[scheme_id])
        if rows:
            bulk_insert(self._session, LedgerEntry, rows)

    def commit_batch(
        self,
        region_code: str,
        scheme_id: uuid.UUID,
        shares: Sequence[tuple[uuid.UUID | str, int]],
        at: datetime,
    ) -> None:
        """Commit the face values of vouchers issued together, as one journal: one posting
        takes the total from the scheme's available bucket, and one per voucher puts its share
        in that voucher's committed bucket.

        Each voucher's buckets are exactly what a commitment journal of its own gives it, so
        release, settlement, claw-back and the per-voucher checks see no difference; the batch
        saves the scheme-side posting of every voucher but one. Raises InsufficientFunds when
        the scheme's budget cannot cover the total (the caller's transaction then rolls back).
        COPY on PostgreSQL, one executemany on SQLite. A voucher's id may be given as text.
        """
        if not shares:
            return
        self._batch_journal(JournalKind.COMMITMENT, region_code, scheme_id, shares, at)
        # After the postings (InsufficientFunds rolls them back with the caller's transaction):
        # the scheme row, which concurrent chunks of a push all update, is locked only then.
        self._move_scheme(scheme_id, -sum(fen for _, fen in shares))

    def release_batch(
        self,
        region_code: str,
        scheme_id: uuid.UUID,
        shares: Sequence[tuple[uuid.UUID | str, int]],
        at: datetime,
    ) -> None:
        """Release the still-committed values of vouchers closed together (a chunk of expiry),
        as one journal: one posting per voucher empties its share from that voucher's committed
        bucket, and one posting gives the total back to the scheme's available bucket.

        The mirror of ``commit_batch``: each voucher's buckets are what a release journal of its
        own would leave, so the per-voucher checks see no difference. A voucher's id may be
        given as text.
        """
        if not shares:
            return
        self._batch_journal(JournalKind.RELEASE, region_code, scheme_id, shares, at)
        self._move_scheme(scheme_id, sum(fen for _, fen in shares))

    def _batch_journal(
        self,
        kind: JournalKind,
        region_code: str,
        scheme_id: uuid.UUID,
        shares: Sequence[tuple[uuid.UUID | str, int]],
        at: datetime,
    ) -> None:
        """One journal of ``kind`` between the scheme's available bucket (one posting, the
        total) and each voucher's committed bucket (one posting per voucher, its share).
        COPY on PostgreSQL, one executemany on SQLite."""
        source, target = MOVES[kind]
        # The voucher side's sign: + when the voucher's bucket is the target (commitment).
        sign = 1 if target is Account.COMMITTED else -1
        scheme_account = source if sign == 1 else target
        voucher_account = target if sign == 1 else source
        total = sum(fen for _, fen in shares)
        journal_id = new_id()
        region = (region_code, province_code(region_code))
        if not copies(self._session):
            rows = [
                _batch_row(
                    journal_id, kind, scheme_account, -sign * total, region, scheme_id, None, at
                )
            ]
            rows += [
                _batch_row(
                    journal_id,
                    kind,
                    voucher_account,
                    sign * fen,
                    region,
                    scheme_id,
                    as_uuid(voucher),
                    at,
                )
                for voucher, fen in shares
            ]
            bulk_insert(self._session, LedgerEntry, rows)
            return
        head = f"{journal_id}\t{kind.value}\t"
        tail = f"\t{region[0]}\t{region[1]}\t{scheme_id}\t{at.isoformat()}\t"
        into = f"{head}{voucher_account.value}\t"
        lines = [f"{text_id()}\t{head}{scheme_account.value}\t{-sign * total}{tail}{NULL}\n"]
        copy_lines(
            self._session,
            LedgerEntry.__tablename__,
            _BATCH_COLUMNS,
            itertools.chain(
                lines,
                (f"{text_id()}\t{into}{sign * fen}{tail}{voucher}\n" for voucher, fen in shares),
            ),
        )

    def _move_fund(self, region_code: str, delta: int) -> None:
        changed = rows_changed(
            self._session,
            plain_update(FundAccount)
            .where(
                FundAccount.region_code == region_code,
                FundAccount.available_fen + delta >= 0,
            )
            .values(available_fen=FundAccount.available_fen + delta),
        )
        if changed != 1:
            raise InsufficientFunds(
                f"the special fund of region {region_code} cannot cover {-delta} fen"
            )

    def _move_scheme(self, scheme_id: uuid.UUID, delta: int) -> None:
        changed = rows_changed(
            self._session,
            plain_update(Scheme)
            .where(Scheme.id == scheme_id, Scheme.available_fen + delta >= 0)
            .values(available_fen=Scheme.available_fen + delta),
        )
        if changed != 1:
            raise InsufficientFunds(f"the scheme's budget cannot cover {-delta} fen")

    # Read side: balances are only ever sums of postings.

    def balances(
        self, region_code: str | None = None, scope: Scope | None = None
    ) -> dict[Account, int]:
        """Balance of every bucket: of one region, of the regions within ``scope``, or all."""
        stmt = sa.select(LedgerEntry.account, sa.func.sum(LedgerEntry.amount_fen)).group_by(
            LedgerEntry.account
        )
        if scope is not None:
            stmt = stmt.where(LedgerEntry.region_code.in_(_regions_within(scope)))
        if region_code is not None:
            stmt = stmt.where(LedgerEntry.region_code == region_code)
        found = {Account(a): int(s) for a, s in self._session.execute(stmt)}
        return {account: found.get(account, 0) for account in Account}

    def voucher_balances(self, voucher_id: uuid.UUID) -> dict[Account, int]:
        stmt = (
            sa.select(LedgerEntry.account, sa.func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.voucher_id == voucher_id)
            .group_by(LedgerEntry.account)
        )
        found = {Account(a): int(s) for a, s in self._session.execute(stmt)}
        return {account: found.get(account, 0) for account in Account}

    def committed_by_voucher(self, voucher_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not voucher_ids:
            return {}
        stmt = (
            sa.select(LedgerEntry.voucher_id, sa.func.sum(LedgerEntry.amount_fen))
            .where(
                LedgerEntry.voucher_id.in_(voucher_ids),
                LedgerEntry.account == Account.COMMITTED,
            )
            .group_by(LedgerEntry.voucher_id)
        )
        return {v: int(s) for v, s in self._session.execute(stmt) if v is not None}

    def entries_page(
        self, region_code: str, before: uuid.UUID | None, limit: int
    ) -> list[LedgerEntry]:
        """The region's postings, newest first, those older than ``before`` when it is given."""
        stmt = (
            sa.select(LedgerEntry)
            .where(LedgerEntry.region_code == region_code)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(LedgerEntry.id < before)
        return list(self._session.scalars(stmt))

    def entries(self, region_code: str | None = None, limit: int = 50) -> list[LedgerEntry]:
        stmt = sa.select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(limit)
        if region_code is not None:
            stmt = stmt.where(LedgerEntry.region_code == region_code)
        return list(self._session.scalars(stmt))

    def unbalanced_journals(self) -> list[uuid.UUID]:
        """Journals whose postings do not add up to zero (must always be empty)."""
        stmt = (
            sa.select(LedgerEntry.journal_id)
            .group_by(LedgerEntry.journal_id)
            .having(sa.func.sum(LedgerEntry.amount_fen) != 0)
        )
        return list(self._session.scalars(stmt))

    def scheme_bucket_balances(self) -> dict[uuid.UUID, int]:
        stmt = (
            sa.select(LedgerEntry.scheme_id, sa.func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.account == Account.SCHEME_AVAILABLE)
            .group_by(LedgerEntry.scheme_id)
        )
        return {s: int(v) for s, v in self._session.execute(stmt) if s is not None}

    def fund_bucket_balances(self) -> dict[str, int]:
        stmt = (
            sa.select(LedgerEntry.region_code, sa.func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.account == Account.FUND_AVAILABLE)
            .group_by(LedgerEntry.region_code)
        )
        return {r: int(v) for r, v in self._session.execute(stmt)}

    def negative_voucher_buckets(self) -> list[tuple[uuid.UUID, Account, int]]:
        """(voucher, bucket, balance) for any voucher bucket below zero (must be empty)."""
        total = sa.func.sum(LedgerEntry.amount_fen)
        stmt = (
            sa.select(LedgerEntry.voucher_id, LedgerEntry.account, total)
            .where(
                LedgerEntry.voucher_id.is_not(None),
                LedgerEntry.account.in_([Account.COMMITTED, Account.PAYABLE, Account.PAID]),
            )
            .group_by(LedgerEntry.voucher_id, LedgerEntry.account)
            .having(total < 0)
        )
        rows = self._session.execute(stmt)
        return [(v, Account(a), int(t)) for v, a, t in rows if v is not None]

    def kind_totals(self, scope: Scope | None = None) -> dict[JournalKind, int]:
        """Total moved by each journal kind (the positive side of its postings)."""
        stmt = (
            sa.select(LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.amount_fen > 0)
            .group_by(LedgerEntry.kind)
        )
        if scope is not None:
            stmt = stmt.where(LedgerEntry.region_code.in_(_regions_within(scope)))
        found = {JournalKind(k): int(s) for k, s in self._session.execute(stmt)}
        return {kind: found.get(kind, 0) for kind in JournalKind}

    def ensure_fund_account(self, region_code: str, name: str, at: datetime) -> None:
        """Open the account unless it is open: INSERT … ON CONFLICT DO NOTHING, so that two
        first deposits into a region at the same moment both succeed."""
        stmt = (
            upsert_insert(self._session, FundAccount)
            .values(
                region_code=region_code,
                province_code=province_code(region_code),
                name=name,
                available_fen=0,
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=["region_code", "province_code"])
        )
        self._session.execute(stmt)

    def fund_accounts(self, scope: Scope | None = None) -> list[FundAccount]:
        stmt = sa.select(FundAccount).order_by(FundAccount.region_code)
        if scope is not None:
            stmt = within_scope(stmt, scope, region=FundAccount.region_code)
        return list(self._session.scalars(stmt))

    def fund_account_within(self, region_code: str, scope: Scope) -> FundAccount | None:
        stmt = within_scope(
            sa.select(FundAccount).where(FundAccount.region_code == region_code),
            scope,
            region=FundAccount.region_code,
        )
        return self._session.scalar(stmt)


_BATCH_COLUMNS = (
    "id",
    "journal_id",
    "kind",
    "account",
    "amount_fen",
    "region_code",
    "province_code",
    "scheme_id",
    "created_at",
    "voucher_id",
)


def _batch_row(
    journal_id: uuid.UUID,
    kind: JournalKind,
    account: Account,
    amount_fen: int,
    region: tuple[str, str],
    scheme_id: uuid.UUID,
    voucher_id: uuid.UUID | None,
    at: datetime,
) -> dict[str, object]:
    return {
        "id": new_id(),
        "journal_id": journal_id,
        "kind": kind,
        "reverses": None,
        "account": account,
        "amount_fen": amount_fen,
        "region_code": region[0],
        "province_code": region[1],
        "scheme_id": scheme_id,
        "voucher_id": voucher_id,
        "institution_id": None,
        "settlement_batch_id": None,
        "created_at": at,
    }


def _regions_within(scope: Scope) -> sa.Select[str]:
    """The codes of the regions within ``scope``: postings are scoped by their region."""
    return within_scope(sa.select(Region.code), scope, region=Region.code)
