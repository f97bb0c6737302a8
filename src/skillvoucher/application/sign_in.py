"""Signing in: staff with a password (and a TOTP code when enabled), workers through the e-SSC,
and turning a session token back into a principal on every request.

Tokens are 256 random bits; only their SHA-256 is stored, so a copy of the database signs no one
in. A failed password counts against the account; at the threshold the account locks for a while,
and the answer never says whether the username exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError

from skillvoucher.application import staff_accounts
from skillvoucher.application.context import AppContext
from skillvoucher.application.rate_limits import SIGN_IN_PER_USER
from skillvoucher.domain.access import (
    AccessDenied,
    NotAuthenticated,
    Principal,
    PrincipalKind,
    Role,
    Scope,
    permissions_for,
)
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.people import CardStatus
from skillvoucher.domain.regions import NATIONWIDE
from skillvoucher.persistence.tables import SignInSession, StaffAccount
from skillvoucher.persistence.unit_of_work import UnitOfWork

SESSION_TOKEN_PREFIX = "svs_"  # noqa: S105 -- a marker, not a secret
TOTP_STEP_SECONDS = 30

# Verified against when the username is unknown, so that both answers take as long.
_DUMMY_HASH = staff_accounts.password_hasher.hash("not a real password, only a timing decoy")


class SignInFailed(NotAuthenticated):
    code = "sign_in_failed"


class AccountLocked(NotAuthenticated):
    code = "account_locked"


class SecondFactorRequired(NotAuthenticated):
    code = "second_factor_required"


@dataclass(frozen=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staff_principal(account: StaffAccount) -> Principal:
    return _staff_principal(
        account.id,
        account.username,
        account.role,
        account.region_code,
        account.institution_id,
        account.employer_credit_code,
    )


def _staff_principal(
    account_id: uuid.UUID,
    username: str,
    role: Role,
    region_code: str | None,
    institution_id: uuid.UUID | None,
    employer_credit_code: str | None,
) -> Principal:
    return Principal(
        kind=PrincipalKind.STAFF,
        subject_id=account_id,
        role=role,
        permissions=permissions_for(role),
        scope=Scope.of_region(
            region_code,
            institution_id=institution_id,
            employer_credit_code=employer_credit_code,
        ),
        label=f"staff:{username}",
    )


def worker_principal(person_id: uuid.UUID) -> Principal:
    return Principal(
        kind=PrincipalKind.WORKER,
        subject_id=person_id,
        role=Role.WORKER,
        permissions=permissions_for(Role.WORKER),
        scope=Scope(person_id=person_id),
        label=f"worker:{person_id}",
    )


def accept_totp(uow: UnitOfWork, account: StaffAccount, code: str, now: datetime) -> None:
    """Accept ``code`` for ``account`` once: the current step or one either side, never a step
    already used (a code seen over someone's shoulder cannot be replayed)."""
    if account.totp_secret is None:
        raise SecondFactorRequired("no second factor is set up")
    totp = pyotp.TOTP(account.totp_secret, interval=TOTP_STEP_SECONDS)
    step_now = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in (step_now, step_now - 1, step_now + 1):
        expected = totp.at(step * TOTP_STEP_SECONDS)
        if hmac.compare_digest(expected, code.strip()):
            if account.totp_last_step is not None and step <= account.totp_last_step:
                break
            uow.accounts.update_account(account.id, totp_last_step=step)
            return
    raise SecondFactorRequired("the second-factor code is wrong or already used")


def _issue_session(
    uow: UnitOfWork,
    ctx: AppContext,
    principal: Principal,
    *,
    account_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
) -> IssuedSession:
    now = ctx.clock()
    token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=ctx.settings.session_hours)
    uow.accounts.add_session(
        SignInSession(
            id=new_id(),
            token_digest=token_digest(token),
            csrf_digest=token_digest(csrf_token),
            account_id=account_id,
            person_id=person_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return IssuedSession(token, csrf_token, expires_at, principal)


def sign_in_staff(
    ctx: AppContext, username: str, password: str, totp_code: str | None = None
) -> IssuedSession:
    """A new session for the account, or SignInFailed / AccountLocked / SecondFactorRequired.

    A failure is committed (the count must survive the refusal), so it runs in its own unit of
    work before the error is raised."""
    ctx.rate_limiter.check(SIGN_IN_PER_USER, username.strip().lower())
    now = ctx.clock()
    failure: DomainError | None = None
    with ctx.unit_of_work() as uow:
        found = uow.accounts.account_by_username(username.strip().lower())
        account = uow.accounts.lock_account(found.id) if found is not None else None
        if account is None or account.disabled_at is not None:
            _verify_quietly(_DUMMY_HASH, password)
            raise SignInFailed("the username or password is wrong")
        if account.locked_until is not None and account.locked_until > now:
            raise AccountLocked("too many failed attempts; try again later")
        if not _verify_quietly(account.password_hash, password):
            failure = _count_failure(uow, ctx, account, now)
        elif account.totp_enabled:
            if not totp_code:
                raise SecondFactorRequired("enter the code from your authenticator app")
            try:
                accept_totp(uow, account, totp_code, now)
            except SecondFactorRequired as wrong_code:
                _count_failure(uow, ctx, account, now)
                failure = wrong_code
        if failure is not None:
            uow.commit()
            raise failure
        hasher = staff_accounts.password_hasher
        if hasher.check_needs_rehash(account.password_hash):  # the cost was raised since
            uow.accounts.update_account(account.id, password_hash=hasher.hash(password))
        uow.accounts.update_account(account.id, failed_attempts=0, locked_until=None)
        issued = _issue_session(uow, ctx, staff_principal(account), account_id=account.id)
        uow.audit.record(
            at=now,
            actor=f"staff:{account.username}",
            action="account.signed_in",
            entity_type="staff_account",
            entity_id=account.id,
            region_code=account.region_code or NATIONWIDE,
        )
        uow.commit()
        return issued


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return staff_accounts.password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(
    uow: UnitOfWork, ctx: AppContext, account: StaffAccount, now: datetime
) -> DomainError:
    failures = account.failed_attempts + 1
    locked = failures >= ctx.settings.lockout_threshold
    uow.accounts.update_account(
        account.id,
        failed_attempts=0 if locked else failures,
        locked_until=now + timedelta(minutes=ctx.settings.lockout_minutes) if locked else None,
    )
    if locked:
        uow.audit.record(
            at=now,
            actor="system",
            action="account.locked",
            entity_type="staff_account",
            entity_id=account.id,
            region_code=account.region_code or NATIONWIDE,
            payload={"failed_attempts": failures},
        )
        return AccountLocked("too many failed attempts; try again later")
    return SignInFailed("the username or password is wrong")


def start_worker_session(ctx: AppContext, person_id: uuid.UUID) -> IssuedSession:
    """A session for a worker whose identity the e-SSC has just vouched for."""
    with ctx.unit_of_work() as uow:
        person = uow.people.get(person_id)
        if person is None:
            raise SignInFailed("the card holder is not in the registry")
        if person.card_status is not CardStatus.ACTIVE:
            raise AccessDenied("the social security card is not active")
        issued = _issue_session(uow, ctx, worker_principal(person_id), person_id=person_id)
        uow.audit.record(
            at=ctx.clock(),
            actor=f"worker:{person_id}",
            action="worker.signed_in",
            entity_type="person",
            entity_id=person_id,
            region_code=person.household_region,
        )
        uow.commit()
        return issued


@dataclass(frozen=True)
class ResolvedSession:
    session_id: uuid.UUID
    principal: Principal
    csrf_digest: str


def resolve_session(ctx: AppContext, token: str) -> ResolvedSession:
    """The principal behind a live session token, or NotAuthenticated.

    Every signed-in request runs this: the session and its staff account are read in one
    statement."""
    with ctx.unit_of_work() as uow:
        row = uow.accounts.live_session_with_account(token_digest(token), ctx.clock())
    if row is None:
        raise NotAuthenticated("the session has expired or was signed out")
    if row.account_id is not None:
        if row.disabled_at is not None:
            raise NotAuthenticated("the account is disabled")
        principal = _staff_principal(
            row.account_id,
            row.username,
            row.role,
            row.region_code,
            row.institution_id,
            row.employer_credit_code,
        )
    elif row.person_id is not None:
        principal = worker_principal(row.person_id)
    else:  # the schema allows it; no code path writes it
        raise NotAuthenticated("the session names nobody")
    return ResolvedSession(row.id, principal, row.csrf_digest)


def csrf_matches(resolved: ResolvedSession, csrf_token: str | None) -> bool:
    return csrf_token is not None and hmac.compare_digest(
        resolved.csrf_digest, token_digest(csrf_token)
    )


def sign_out(ctx: AppContext, session_id: uuid.UUID) -> None:
    with ctx.unit_of_work() as uow:
        uow.accounts.revoke_session(session_id, ctx.clock())
        uow.commit()


def purge_ended_sessions(ctx: AppContext) -> int:
    """Delete sessions that ended more than a day ago (a day keeps recent ones for inquiry)."""
    with ctx.unit_of_work() as uow:
        purged = uow.accounts.delete_sessions_ended_before(ctx.clock() - timedelta(days=1))
        uow.commit()
        return purged
