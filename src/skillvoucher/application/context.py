"""What every use case needs: a way to open units of work, the key store, and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from skillvoucher.application.quota_gate import ExhaustedQuotas
from skillvoucher.application.rate_limits import NoCounter, RateLimiter, limiter_for
from skillvoucher.config import Settings
from skillvoucher.credentials.digest_key import keyed_digest, load_or_create_digest_key
from skillvoucher.credentials.keys import KeyStore
from skillvoucher.credentials.secret_files import load_or_create_secret
from skillvoucher.domain.timekeeping import utc_now
from skillvoucher.persistence.database import create_engine_for, session_factory
from skillvoucher.persistence.unit_of_work import UnitOfWork

AUDIT_CHAIN_KEY_FILE = "audit-chain.key"


@dataclass
class AppContext:
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyStore
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)
    actor: str = "cli"
    read_engine: Engine | None = None
    """A streaming replica's engine (``read_database_url``), or None: reads use ``engine``."""

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        engine = create_engine_for(settings.resolved_database_url)
        read_url = settings.resolved_read_database_url
        return cls(
            engine=engine,
            sessions=session_factory(engine),
            keys=KeyStore(settings.resolved_key_dir),
            settings=settings,
            read_engine=read_only_engine(read_url) if read_url else None,
        )

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.audit_chain_key)

    def read_unit_of_work(self) -> UnitOfWork:
        """A unit of work on the read replica when one is configured, else on the primary.

        Only for reads that may be a moment behind the primary (replication lag: usually
        milliseconds, seconds under heavy writes). It cannot write: the replica refuses, and so
        does the engine, even if the setting were pointed at the primary by mistake.
        """
        if self._read_sessions is None:
            return self.unit_of_work()
        return UnitOfWork(self._read_sessions, self.audit_chain_key)

    @cached_property
    def _read_sessions(self) -> sessionmaker[Session] | None:
        return session_factory(self.read_engine) if self.read_engine is not None else None

    @property
    def rate_limiter(self) -> RateLimiter:
        """One limiter per context and its acting copies: counts must not restart per request."""
        if "_rate_limiter" not in self.__dict__:
            enabled = self.settings.rate_limits_enabled
            self.__dict__["_rate_limiter"] = (
                limiter_for(self.settings.redis_url) if enabled else RateLimiter(NoCounter())
            )
        limiter: RateLimiter = self.__dict__["_rate_limiter"]
        return limiter

    @property
    def exhausted_quotas(self) -> ExhaustedQuotas:
        """One memory per context and its acting copies: what one request learnt, the next
        request's refusal uses."""
        if "_exhausted_quotas" not in self.__dict__:
            seconds = self.settings.quota_exhausted_memory_seconds
            self.__dict__["_exhausted_quotas"] = ExhaustedQuotas(seconds)
        quotas: ExhaustedQuotas = self.__dict__["_exhausted_quotas"]
        return quotas

    def audit_chain_key(self) -> bytes:
        """The key of the audit trail's hash chain; read once, kept outside the database."""
        if "_audit_key" not in self.__dict__:
            self.__dict__["_audit_key"] = load_or_create_secret(
                self.settings.resolved_key_dir, AUDIT_CHAIN_KEY_FILE
            )
        key: bytes = self.__dict__["_audit_key"]
        return key

    @cached_property
    def _digest_key(self) -> bytes:
        return load_or_create_digest_key(self.settings.resolved_key_dir)

    def digest(self, value: str) -> str:
        """Keyed digest used to find people by ID number and to check consent codes."""
        return keyed_digest(self._digest_key, value)

    def acting_as(self, actor: str) -> AppContext:
        """The same context (engine, keys, clock) with ``actor`` named in the audit trail."""
        # Made here, on the shared context: counts and what was learnt outlive the request.
        _ = self.rate_limiter, self.exhausted_quotas
        copy = replace(self, actor=actor)
        # Keys already loaded travel along: no disk read per request.
        for loaded in (
            "_digest_key",
            "_audit_key",
            "_rate_limiter",
            "_exhausted_quotas",
            "_read_sessions",
        ):
            if loaded in self.__dict__:
                copy.__dict__[loaded] = self.__dict__[loaded]
        # Keys not loaded yet are loaded by this context, once, when the copy first needs them:
        # the server makes a copy per request, which would otherwise read them from disk each
        # time.
        copy.__dict__["audit_chain_key"] = self.audit_chain_key
        copy.__dict__["digest"] = self.digest
        return copy

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()


def read_only_engine(url: str) -> Engine:
    """An engine whose PostgreSQL transactions are READ ONLY (SQLite has no such mode)."""
    engine = create_engine_for(url)
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine
