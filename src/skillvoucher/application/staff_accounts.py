"""Staff accounts: creation with an argon2 password hash, and the second factor (TOTP)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher

from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import (
    MAY_GRANT,
    ROLES_WITH_EMPLOYER,
    ROLES_WITH_INSTITUTION,
    STAFF_ROLES,
    AccessDenied,
    Permission,
    Principal,
    Role,
    Scope,
)
from skillvoucher.domain.errors import AlreadyExists, InvalidInput, NotFound
from skillvoucher.domain.identity import validate_credit_code
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.regions import NATIONWIDE, validate_region_code
from skillvoucher.persistence.tables import StaffAccount

MIN_PASSWORD_CHARS = 10
TOTP_ISSUER = "skillvoucher"

# One hasher for the process: argon2id with the library's RFC 9106 "low memory" defaults
# (about 0.1 s a hash on this machine's cores). Tests swap in a cheaper one; see conftest.
password_hasher = PasswordHasher()


@dataclass(frozen=True)
class AccountView:
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    region_code: str | None
    institution_id: uuid.UUID | None
    employer_credit_code: str | None
    totp_enabled: bool


def view_of(account: StaffAccount) -> AccountView:
    return AccountView(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        region_code=account.region_code,
        institution_id=account.institution_id,
        employer_credit_code=account.employer_credit_code,
        totp_enabled=account.totp_enabled,
    )


def check_delegation(creator: Principal, role: Role, scope: Scope, needs: Permission) -> None:
    """A principal hands out only roles below its own (``MAY_GRANT``), within its own scope.

    This is what keeps a city administrator from creating a province administrator, or an
    institution's key from reaching another institution."""
    creator.require(needs)
    if role not in MAY_GRANT.get(creator.role, frozenset()):
        raise AccessDenied(f"a {creator.role.value} cannot grant the role {role.value}")
    mine = creator.scope
    narrowings = (
        (mine.person_id, scope.person_id),
        (mine.institution_id, scope.institution_id),
        (mine.employer_credit_code, scope.employer_credit_code),
    )
    inside = scope.region_prefix.startswith(mine.region_prefix) and all(
        held is None or held == given for held, given in narrowings
    )
    if not inside:
        raise AccessDenied("cannot grant access beyond one's own scope")


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if password.isdigit() or password.isalpha():
        raise InvalidInput("a password needs letters and digits or other characters")


def check_affiliation(
    role: Role, region_code: str | None, institution_id: uuid.UUID | None, employer: str | None
) -> None:
    """An account or key is tied to exactly what its role acts for: no more, no less."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"{role.value} is not a staff role; workers sign in with their e-SSC")
    if region_code is not None:
        validate_region_code(region_code)
    if role in (Role.CITY_ADMIN, Role.PROVINCE_ADMIN) and region_code is None:
        raise InvalidInput(f"a {role.value} needs a region")
    if (role in ROLES_WITH_INSTITUTION) != (institution_id is not None):
        raise InvalidInput(
            f"an institution is required for, and only for, {Role.INSTITUTION_STAFF}"
        )
    if (role in ROLES_WITH_EMPLOYER) != (employer is not None):
        raise InvalidInput(
            f"an employer credit code is required for, and only for, {Role.ENTERPRISE_HR}"
        )
    if employer is not None:
        validate_credit_code(employer)


def create_staff_account(
    ctx: AppContext,
    creator: Principal | None,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    region_code: str | None = None,
    institution_id: uuid.UUID | None = None,
    employer_credit_code: str | None = None,
) -> AccountView:
    username = username.strip().lower()
    if (
        not (3 <= len(username) <= 60)
        or not username.replace("-", "").replace(".", "").replace("_", "").isalnum()
    ):
        raise InvalidInput("a username has 3 to 60 letters, digits, dots, dashes or underscores")
    check_password_strength(password)
    check_affiliation(role, region_code, institution_id, employer_credit_code)
    with ctx.unit_of_work() as uow:
        if uow.accounts.account_by_username(username) is not None:
            raise AlreadyExists(f"the username {username} is taken")
        if region_code is not None and uow.regions.get(region_code) is None:
            raise NotFound(f"no region {region_code}")
        if institution_id is not None:
            institution = uow.catalogue.institution(institution_id)
            if institution is None:
                raise NotFound(f"no institution {institution_id}")
            region_code = region_code or institution.region_code
        if creator is not None:
            check_delegation(
                creator,
                role,
                Scope.of_region(
                    region_code,
                    institution_id=institution_id,
                    employer_credit_code=employer_credit_code,
                ),
                Permission.ACCOUNT_MANAGE,
            )
        now = ctx.clock()
        account = StaffAccount(
            id=new_id(),
            username=username,
            display_name=display_name or username,
            password_hash=password_hasher.hash(password),
            role=role,
            region_code=region_code,
            institution_id=institution_id,
            employer_credit_code=employer_credit_code,
            failed_attempts=0,
            totp_enabled=False,
            created_at=now,
        )
        uow.accounts.add_account(account)
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="account.created",
            entity_type="staff_account",
            entity_id=account.id,
            region_code=region_code or NATIONWIDE,
            payload={"username": username, "role": role.value},
        )
        uow.commit()
        return view_of(account)


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    provisioning_uri: str


def begin_totp_setup(ctx: AppContext, account_id: uuid.UUID) -> TotpSetup:
    """A fresh secret for the account's authenticator app; it takes effect once confirmed."""
    secret = pyotp.random_base32()
    with ctx.unit_of_work() as uow:
        account = uow.accounts.lock_account(account_id)
        if account is None:
            raise NotFound("no such account")
        if account.totp_enabled:
            raise AlreadyExists("a second factor is already enabled; disable it first")
        uow.accounts.update_account(account_id, totp_secret=secret)
        uow.commit()
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=TOTP_ISSUER)
        return TotpSetup(secret=secret, provisioning_uri=uri)


def confirm_totp(ctx: AppContext, account_id: uuid.UUID, code: str) -> None:
    from skillvoucher.application.sign_in import accept_totp  # one TOTP check for both paths

    with ctx.unit_of_work() as uow:
        account = uow.accounts.lock_account(account_id)
        if account is None or account.totp_secret is None:
            raise NotFound("no second factor is being set up")
        accept_totp(uow, account, code, ctx.clock())
        uow.accounts.update_account(account_id, totp_enabled=True)
        uow.audit.record(
            at=ctx.clock(),
            actor=ctx.actor,
            action="account.totp_enabled",
            entity_type="staff_account",
            entity_id=account_id,
            region_code=account.region_code or NATIONWIDE,
        )
        uow.commit()
