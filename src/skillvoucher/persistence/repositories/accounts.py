"""Staff accounts, sign-in sessions and partner API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Role, Scope
from skillvoucher.persistence.repositories.dialect import plain_update, rows_changed
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import ApiKey, SignInSession, StaffAccount

SessionRow = sa.Row[
    uuid.UUID,  # the session's id
    str,  # its CSRF token's digest
    uuid.UUID | None,  # account_id
    uuid.UUID | None,  # person_id
    str,  # the account's username, role, region, institution, employer and disabled_at:
    Role,  # None for a worker's session (the outer join finds no account)
    str | None,
    uuid.UUID | None,
    str | None,
    datetime | None,
]


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # Staff accounts -------------------------------------------------------------------------

    def add_account(self, account: StaffAccount) -> None:
        self._session.add(account)
        self._session.flush()

    def account_by_username(self, username: str) -> StaffAccount | None:
        return self._session.scalar(
            sa.select(StaffAccount).where(StaffAccount.username == username)
        )

    def account(self, account_id: uuid.UUID) -> StaffAccount | None:
        return self._session.get(StaffAccount, account_id)

    def lock_account(self, account_id: uuid.UUID) -> StaffAccount | None:
        """The account row, locked for this transaction (PostgreSQL) so that concurrent failed
        attempts are all counted; SQLite serialises writers anyway."""
        stmt = sa.select(StaffAccount).where(StaffAccount.id == account_id).with_for_update()
        return self._session.scalar(stmt)

    def accounts(self, scope: Scope) -> list[StaffAccount]:
        stmt = within_scope(
            sa.select(StaffAccount).order_by(StaffAccount.username),
            scope,
            region=sa.func.coalesce(StaffAccount.region_code, ""),
            institution=StaffAccount.institution_id,
            employer=StaffAccount.employer_credit_code,
        )
        return list(self._session.scalars(stmt))

    # Sessions -------------------------------------------------------------------------------

    def add_session(self, row: SignInSession) -> None:
        self._session.add(row)
        self._session.flush()

    def live_session(self, token_digest: str, now: datetime) -> SignInSession | None:
        stmt = sa.select(SignInSession).where(
            SignInSession.token_digest == token_digest,
            SignInSession.revoked_at.is_(None),
            SignInSession.expires_at > now,
        )
        return self._session.scalar(stmt)

    def live_session_with_account(self, token_digest: str, now: datetime) -> SessionRow | None:
        """A live session with what a principal is made of: its staff account's columns (all
        None for a worker's session). One statement, built once: every request runs it."""
        return self._session.execute(
            _LIVE_SESSION_WITH_ACCOUNT, {"token_digest": token_digest, "now": now}
        ).first()

    def revoke_session(self, session_id: uuid.UUID, now: datetime) -> bool:
        stmt = (
            plain_update(SignInSession)
            .where(SignInSession.id == session_id, SignInSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return rows_changed(self._session, stmt) == 1

    def revoke_sessions_of(self, account_id: uuid.UUID, now: datetime) -> int:
        stmt = (
            plain_update(SignInSession)
            .where(SignInSession.account_id == account_id, SignInSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return rows_changed(self._session, stmt)

    # API keys -------------------------------------------------------------------------------

    def add_api_key(self, key: ApiKey) -> None:
        self._session.add(key)
        self._session.flush()

    def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        return self._session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix))

    def api_key(self, key_id: uuid.UUID, scope: Scope) -> ApiKey | None:
        stmt = within_scope(
            sa.select(ApiKey).where(ApiKey.id == key_id),
            scope,
            region=sa.func.coalesce(ApiKey.region_code, ""),
            institution=ApiKey.institution_id,
            employer=ApiKey.employer_credit_code,
        )
        return self._session.scalar(stmt)

    def api_keys(
        self, scope: Scope, after: uuid.UUID | None = None, limit: int | None = None
    ) -> list[ApiKey]:
        """Keys within ``scope`` in id (creation) order; keyset-paged with ``after``/``limit``."""
        stmt = within_scope(
            sa.select(ApiKey).order_by(ApiKey.id),
            scope,
            region=sa.func.coalesce(ApiKey.region_code, ""),
            institution=ApiKey.institution_id,
            employer=ApiKey.employer_credit_code,
        )
        if after is not None:
            stmt = stmt.where(ApiKey.id > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(self._session.scalars(stmt))

    def touch_api_key(self, key_id: uuid.UUID, now: datetime) -> None:
        stmt = plain_update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now)
        self._session.execute(stmt)

    def update_account(self, account_id: uuid.UUID, **values: Any) -> None:
        stmt = plain_update(StaffAccount).where(StaffAccount.id == account_id).values(**values)
        self._session.execute(stmt)

    def delete_sessions_ended_before(self, moment: datetime) -> int:
        """Forget sessions that expired or were signed out before ``moment``."""
        stmt = sa.delete(SignInSession).where(
            sa.or_(SignInSession.expires_at < moment, SignInSession.revoked_at < moment)
        )
        return rows_changed(self._session, stmt)


_LIVE_SESSION_WITH_ACCOUNT = (
    sa.select(
        SignInSession.id,
        SignInSession.csrf_digest,
        SignInSession.account_id,
        SignInSession.person_id,
        StaffAccount.username,
        StaffAccount.role,
        StaffAccount.region_code,
        StaffAccount.institution_id,
        StaffAccount.employer_credit_code,
        StaffAccount.disabled_at,
    )
    .outerjoin(StaffAccount, StaffAccount.id == SignInSession.account_id)
    .where(
        SignInSession.token_digest == sa.bindparam("token_digest"),
        SignInSession.revoked_at.is_(None),
        SignInSession.expires_at > sa.bindparam("now"),
    )
)
