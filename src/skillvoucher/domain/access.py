"""Who may do what, and where: one vocabulary of permissions, mapped from roles in one place.

A principal (a signed-in worker, a staff member, a partner system's API key) carries a role, the
permissions that role grants (narrowed by an API key's scopes) and a scope: the region prefix it
may see, and for workers, institutions and enterprises the one person, institution or employer
it acts for. Every use case asks the principal, never the transport.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.regions import code_prefix


class Permission(StrEnum):
    PERSON_READ = "person:read"
    PERSON_IMPORT = "person:import"
    SCHEME_READ = "scheme:read"
    SCHEME_MANAGE = "scheme:manage"
    VOUCHER_ISSUE = "voucher:issue"
    VOUCHER_CLAIM = "voucher:claim"
    VOUCHER_READ = "voucher:read"
    VOUCHER_READ_OWN = "voucher:read_own"  # a worker's "my vouchers"
    VOUCHER_REVOKE = "voucher:revoke"
    CONSENT_GRANT = "consent:grant"
    ENROLMENT_READ = "enrolment:read"
    ENROLMENT_CREATE = "enrolment:create"
    ENROLMENT_CANCEL = "enrolment:cancel"
    ATTENDANCE_RECORD = "attendance:record"
    COMPLETION_RECORD = "completion:record"
    SETTLEMENT_READ = "settlement:read"
    SETTLEMENT_BUILD = "settlement:build"
    SETTLEMENT_APPROVE = "settlement:approve"
    SETTLEMENT_EXPORT = "settlement:export"
    SETTLEMENT_PAY = "settlement:pay"
    FUND_READ = "fund:read"
    FUND_DEPOSIT = "fund:deposit"
    FUND_TRANSFER_REQUEST = "fund:transfer_request"
    FUND_TRANSFER_APPROVE = "fund:transfer_approve"
    STATISTICS_READ = "statistics:read"
    AUDIT_READ = "audit:read"
    ACCOUNT_MANAGE = "account:manage"
    API_KEY_MANAGE = "api_key:manage"
    RISK_READ = "risk:read"
    INSTITUTION_SUSPEND = "institution:suspend"
    CATALOGUE_APPROVE = "catalogue:approve"  # approve or refuse institutions awaiting approval
    DISPUTE_OPEN = "dispute:open"  # a holder disputes their record; an administrator objects
    DISPUTE_RESOLVE = "dispute:resolve"  # uphold or dismiss a dispute or objection


class Role(StrEnum):
    WORKER = "worker"
    INSTITUTION_STAFF = "institution_staff"
    ENTERPRISE_HR = "enterprise_hr"
    CITY_ADMIN = "city_admin"
    PROVINCE_ADMIN = "province_admin"
    NATIONAL_STATISTICIAN = "national_statistician"
    AUDITOR = "auditor"


class PrincipalKind(StrEnum):
    WORKER = "worker"
    STAFF = "staff"
    PARTNER = "partner"


P = Permission

_ADMINISTRATOR = frozenset(
    {
        P.PERSON_READ,
        P.PERSON_IMPORT,
        P.SCHEME_READ,
        P.SCHEME_MANAGE,
        P.VOUCHER_ISSUE,
        P.VOUCHER_READ,
        P.VOUCHER_REVOKE,
        P.ENROLMENT_READ,
        P.ENROLMENT_CANCEL,
        P.SETTLEMENT_READ,
        P.SETTLEMENT_BUILD,
        P.SETTLEMENT_APPROVE,
        P.SETTLEMENT_EXPORT,
        P.SETTLEMENT_PAY,
        P.FUND_READ,
        P.FUND_TRANSFER_REQUEST,
        P.FUND_TRANSFER_APPROVE,
        P.STATISTICS_READ,
        P.AUDIT_READ,
        P.ACCOUNT_MANAGE,
        P.API_KEY_MANAGE,
        P.RISK_READ,
        P.INSTITUTION_SUSPEND,
        P.CATALOGUE_APPROVE,
        P.DISPUTE_OPEN,
        P.DISPUTE_RESOLVE,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.WORKER: frozenset(
        {
            P.VOUCHER_READ,
            P.VOUCHER_READ_OWN,
            P.VOUCHER_CLAIM,
            P.CONSENT_GRANT,
            P.ENROLMENT_READ,
            P.ENROLMENT_CREATE,
            P.DISPUTE_OPEN,
        }
    ),
    Role.INSTITUTION_STAFF: frozenset(
        {
            P.ENROLMENT_READ,
            P.ENROLMENT_CREATE,
            P.ENROLMENT_CANCEL,
            P.ATTENDANCE_RECORD,
            P.COMPLETION_RECORD,
            P.SETTLEMENT_READ,
            P.API_KEY_MANAGE,
        }
    ),
    Role.ENTERPRISE_HR: frozenset({P.VOUCHER_ISSUE, P.VOUCHER_READ, P.ENROLMENT_READ}),
    Role.CITY_ADMIN: _ADMINISTRATOR,
    # Deposits come from the provincial treasury into a region's special fund account.
    Role.PROVINCE_ADMIN: _ADMINISTRATOR | {P.FUND_DEPOSIT},
    Role.NATIONAL_STATISTICIAN: frozenset({P.STATISTICS_READ, P.SCHEME_READ, P.FUND_READ}),
    Role.AUDITOR: frozenset(
        {
            P.PERSON_READ,
            P.SCHEME_READ,
            P.VOUCHER_READ,
            P.ENROLMENT_READ,
            P.SETTLEMENT_READ,
            P.FUND_READ,
            P.STATISTICS_READ,
            P.AUDIT_READ,
            P.RISK_READ,
        }
    ),
}

# Who may create accounts and API keys of which roles (always within their own scope). A role
# never hands out its own rank or above, except institution staff, who run their own systems.
MAY_GRANT: dict[Role, frozenset[Role]] = {
    Role.PROVINCE_ADMIN: frozenset(
        {Role.CITY_ADMIN, Role.INSTITUTION_STAFF, Role.ENTERPRISE_HR, Role.AUDITOR}
    ),
    Role.CITY_ADMIN: frozenset({Role.INSTITUTION_STAFF, Role.ENTERPRISE_HR}),
    Role.INSTITUTION_STAFF: frozenset({Role.INSTITUTION_STAFF}),
}

STAFF_ROLES = frozenset(Role) - {Role.WORKER}
"""Roles a staff account or an API key may hold; workers sign in only with their e-SSC."""

ROLES_WITH_INSTITUTION = frozenset({Role.INSTITUTION_STAFF})
ROLES_WITH_EMPLOYER = frozenset({Role.ENTERPRISE_HR})


class AccessDenied(DomainError):
    """The principal lacks the permission. Rows outside its scope answer NotFound instead, so
    that a refusal never tells whether the row exists."""

    code = "access_denied"


class NotAuthenticated(DomainError):
    code = "not_authenticated"


@dataclass(frozen=True)
class Scope:
    """Where a principal may look. ``region_prefix`` "" means the whole country."""

    region_prefix: str = ""
    person_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    employer_credit_code: str | None = None

    @classmethod
    def of_region(cls, region_code: str | None, **narrowing: object) -> Scope:
        prefix = code_prefix(region_code) if region_code else ""
        return cls(region_prefix=prefix, **narrowing)  # type: ignore[arg-type]

    def covers_region(self, region_code: str) -> bool:
        return region_code.startswith(self.region_prefix)


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    subject_id: uuid.UUID
    role: Role
    permissions: frozenset[Permission]
    scope: Scope
    label: str
    """Who the audit trail names: ``staff:<username>``, ``worker:<person id>``, ``key:<prefix>``."""

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise AccessDenied(f"{self.role.value} may not {permission.value}")


def permissions_for(
    role: Role, scopes: frozenset[Permission] | None = None
) -> frozenset[Permission]:
    """The role's permissions, narrowed to an API key's scopes when it has any."""
    granted = ROLE_PERMISSIONS[role]
    return granted if scopes is None else granted & scopes
