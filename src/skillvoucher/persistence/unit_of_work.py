"""One use case = one unit of work = one transaction. It rolls back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from skillvoucher.persistence.repositories.accounts import AccountRepository
from skillvoucher.persistence.repositories.audit import AuditRepository
from skillvoucher.persistence.repositories.catalogue import CatalogueRepository
from skillvoucher.persistence.repositories.idempotency import IdempotencyRepository
from skillvoucher.persistence.repositories.ledger import LedgerRepository
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
        return self

    def commit(self) -> None:
        self.audit.write_pending()  # the audit events join their chains in this transaction
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
        self.session.close()
