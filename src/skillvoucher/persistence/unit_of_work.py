"""One use case = one unit of work = one transaction. It rolls back unless committed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from skillvoucher.persistence.database import DatabaseUnavailable, lost_connection
from skillvoucher.persistence.repositories.accounts import AccountRepository
from skillvoucher.persistence.repositories.audit import AuditRepository
from skillvoucher.persistence.repositories.catalogue import CatalogueRepository
from skillvoucher.persistence.repositories.disputes import DisputeRepository, DisputeSubjects
from skillvoucher.persistence.repositories.idempotency import IdempotencyRepository
from skillvoucher.persistence.repositories.ledger import LedgerRepository
from skillvoucher.persistence.repositories.notices import NoticeRepository
from skillvoucher.persistence.repositories.people import PeopleRepository
from skillvoucher.persistence.repositories.regions import RegionRepository
from skillvoucher.persistence.repositories.schemes import SchemeRepository
from skillvoucher.persistence.repositories.settlement import SettlementRepository
from skillvoucher.persistence.repositories.transfers import TransferRepository
from skillvoucher.persistence.repositories.vouchers import VoucherRepository


class UnitOfWork:
    """Opens a session and hands out repositories bound to it. Repositories never commit."""

    def __init__(
        self, sessions: sessionmaker[Session], audit_chain_key: Callable[[], bytes]
    ) -> None:
        self._sessions = sessions
        self._audit_chain_key = audit_chain_key
        self._committed = False
        self._commit_started = False

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.session.begin()
        self.regions = RegionRepository(self.session)
        self.people = PeopleRepository(self.session)
        self.catalogue = CatalogueRepository(self.session)
        self.schemes = SchemeRepository(self.session)
        self.vouchers = VoucherRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.settlement = SettlementRepository(self.session)
        self.transfers = TransferRepository(self.session)
        self.audit = AuditRepository(self.session, self._audit_chain_key)
        self.accounts = AccountRepository(self.session)
        self.idempotency = IdempotencyRepository(self.session)
        self.notices = NoticeRepository(self.session)
        self.disputes = DisputeRepository(self.session)
        self.dispute_subjects = DisputeSubjects(self.session)
        return self

    def commit(self) -> None:
        # Holders hear of the changes that concern them: the outbox rows join this transaction.
        self.notices.write_for_events(self.audit.pending)
        self.audit.write_pending()  # the audit events join their chains in this transaction
        self._commit_started = True
        self.session.commit()
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches loaded objects without
        # expiring them, so read-only use cases can hand their results to the caller.
        if exc is None or not lost_connection(exc):
            self.session.close()
            return
        with contextlib.suppress(sa.exc.DBAPIError):  # the connection is gone; the pool drops it
            self.session.close()
        if self._commit_started:
            raise DatabaseUnavailable(
                "the database connection broke while committing: check whether the change was "
                "saved before doing it again"
            ) from exc
        raise DatabaseUnavailable(
            "the database connection broke before anything was saved; try again"
        ) from exc
