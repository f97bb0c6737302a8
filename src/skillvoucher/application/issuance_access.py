"""Issuance as a signed-in principal asks for it: a worker claims for themself, administrators
push within their region, enterprise HR requests vouchers for their own enterprise's staff.

A scheme outside the caller's region answers exactly as an unknown one does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from skillvoucher.application.context import AppContext
from skillvoucher.application.issuance import (
    IssuedVoucher,
    PushResult,
    RosterOutcome,
    issue_for_enterprise,
    issue_to_registered_person,
    push_issue,
)
from skillvoucher.application.rate_limits import CLAIMS_PER_PERSON
from skillvoucher.domain.access import AccessDenied, Permission, Principal, Scope
from skillvoucher.domain.errors import InvalidInput, NotFound, SchemeNotActive
from skillvoucher.domain.identity import validate_credit_code
from skillvoucher.domain.schemes import SchemeStatus, SchemeType
from skillvoucher.persistence.read_models.scoped_schemes import scheme_in_scope
from skillvoucher.persistence.tables import Scheme


def _scheme(ctx: AppContext, scope: Scope, code: str) -> Scheme:
    with ctx.unit_of_work() as uow:
        scheme = scheme_in_scope(uow.session, scope, code)
    if scheme is None:
        # The same words issuance uses for a scheme that does not exist at all.
        raise NotFound(f"scheme {code} is not known")
    return scheme


def claim_for(ctx: AppContext, principal: Principal, scheme_code: str) -> IssuedVoucher:
    """The signed-in worker applies for, or claims, a voucher of ``scheme_code`` for themself."""
    principal.require(Permission.VOUCHER_CLAIM)
    person_id = principal.scope.person_id
    if person_id is None:
        raise AccessDenied("only a signed-in worker claims a voucher for themself")
    ctx.rate_limiter.check(CLAIMS_PER_PERSON, str(person_id))
    return issue_to_registered_person(ctx, scheme_code, person_id)


def push_for(ctx: AppContext, principal: Principal, scheme_code: str) -> PushResult:
    """Push-issue a scheme within the caller's region to everyone eligible (see push_issue)."""
    principal.require(Permission.VOUCHER_ISSUE)
    _scheme(ctx, principal.scope, scheme_code)
    return push_issue(ctx, scheme_code)


def enterprise_issue_for(
    ctx: AppContext,
    principal: Principal,
    scheme_code: str,
    enterprise_credit_code: str | None,
    resident_ids: Sequence[str],
) -> list[RosterOutcome]:
    """Issue an enterprise scheme's vouchers to an enterprise's roster, one outcome per line.

    Enterprise HR acts for their own employer only (naming another is refused); an
    administrator names the enterprise. The scheme must lie within the caller's region.
    """
    principal.require(Permission.VOUCHER_ISSUE)
    own = principal.scope.employer_credit_code
    if own is not None:
        if enterprise_credit_code is not None and enterprise_credit_code.strip() != own:
            raise AccessDenied("enterprise HR may request vouchers for their own enterprise only")
        enterprise = own
    elif enterprise_credit_code is None:
        raise InvalidInput("name the enterprise: enterprise_credit_code is required")
    else:
        enterprise = validate_credit_code(enterprise_credit_code)
    # An enterprise scheme serves every enterprise of its region, so the scheme is looked up
    # by region alone; the employer narrowing applies to the roster, through eligibility.
    scheme = _scheme(ctx, replace(principal.scope, employer_credit_code=None), scheme_code)
    if scheme.type is not SchemeType.ENTERPRISE:
        raise InvalidInput(f"scheme {scheme_code} is not an enterprise scheme")
    if scheme.status is not SchemeStatus.ACTIVE:
        # Once here, not once per line of the roster.
        raise SchemeNotActive(f"scheme {scheme_code} is {scheme.status.value}, not active")
    return issue_for_enterprise(ctx, scheme_code, enterprise, enumerate(resident_ids, start=1))
