"""The enterprise portal's use cases, for enterprise HR acting for their own employer: the
enterprise schemes open to it, its employees' vouchers and training, and a voucher request from
a roster.

A roster request goes through ``issuance_access.enterprise_issue_for``, the same use case as the
API's, so scope and eligibility are checked in one place; this module adds what a person
uploading a file needs: the same employee listed twice is issued once, and every line gets an
outcome they can act on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from skillvoucher.application.context import AppContext
from skillvoucher.application.enterprise_portal_roster import RosterLine
from skillvoucher.application.issuance_access import enterprise_issue_for
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.access import AccessDenied, Permission, Principal
from skillvoucher.domain.errors import DomainError, InvalidRegionCode
from skillvoucher.domain.identity import mask_resident_id, parse_resident_id
from skillvoucher.domain.regions import is_within
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.read_models import enterprise_portal as read_model
from skillvoucher.persistence.read_models.enterprise_portal import (
    EnterpriseSchemeRow,
    StatusCount,
    TrainingRow,
)

__all__ = [
    "EnterpriseHome",
    "EnterpriseScheme",
    "LineOutcome",
    "Outcome",
    "RosterReport",
    "StatusCount",
    "TrainingRow",
    "employees_training",
    "enterprise_home",
    "open_schemes",
    "request_vouchers",
]

NOT_AN_EMPLOYEE = "not an employee of the requesting enterprise"
"""The eligibility rule (domain/schemes.py) that an enterprise names someone not its own."""
NOT_ELIGIBLE_SEPARATOR = " is not eligible: "
"""How NotEligible's message introduces its reasons, which are joined by "; "."""


@dataclass(frozen=True)
class EnterpriseScheme:
    code: str
    name: str
    region_code: str
    region_name: str
    face_value_fen: int
    quota: int
    quota_left: int


@dataclass(frozen=True)
class EnterpriseHome:
    employer_credit_code: str
    schemes: list[EnterpriseScheme]
    vouchers: list[StatusCount]
    voucher_total: int
    face_value_total_fen: int


class Outcome(StrEnum):
    ISSUED = "issued"
    NOT_ELIGIBLE = "not_eligible"
    NOT_AN_EMPLOYEE = "not_an_employee"
    ALREADY_HOLDS = "already_holds"
    QUOTA_EXHAUSTED = "quota_exhausted"
    INVALID_ID = "invalid_id"
    NOT_IN_REGISTRY = "not_in_registry"
    DUPLICATE = "duplicate"
    OTHER = "other"


@dataclass(frozen=True)
class LineOutcome:
    line: int
    name: str
    masked_id: str
    outcome: Outcome
    voucher_id: uuid.UUID | None = None
    rules: tuple[str, ...] = ()
    """The eligibility rules the employee fails, as the domain words them (English)."""
    first_line: int | None = None
    """For a duplicate: the line that lists the same person first."""
    detail: str = ""
    """The refusal's own message, for outcomes without a specific wording."""


@dataclass(frozen=True)
class RosterReport:
    scheme_code: str
    lines: list[LineOutcome]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for line in self.lines if line.outcome is outcome)

    @property
    def issued(self) -> int:
        return self.count(Outcome.ISSUED)

    @property
    def refused(self) -> int:
        return len(self.lines) - self.issued

    def counts(self) -> list[tuple[Outcome, int]]:
        """Each outcome that occurs, with how many lines have it, in the enum's order."""
        return [(o, n) for o in Outcome if (n := self.count(o))]


def _employer_of(principal: Principal) -> str:
    employer = principal.scope.employer_credit_code
    if employer is None:
        raise AccessDenied("the enterprise portal is for enterprise HR, acting for their employer")
    return employer


def _covers(scheme_region: str, regions: set[str]) -> bool:
    for region in regions:
        try:
            if is_within(region, scheme_region):
                return True
        except InvalidRegionCode:
            continue  # a credit code registered where no region code is known: not this one
    return False


def _open_to(rows: list[EnterpriseSchemeRow], regions: set[str]) -> list[EnterpriseScheme]:
    return [
        EnterpriseScheme(
            row.code,
            row.name,
            row.region_code,
            row.region_name,
            row.face_value_max_fen,
            row.quota,
            row.quota - row.issued_count,
        )
        for row in rows
        if _covers(row.region_code, regions)
    ]


def open_schemes(ctx: AppContext, principal: Principal) -> list[EnterpriseScheme]:
    """Active enterprise schemes within the caller's region that reach their employer: the
    scheme's region holds where the employer is registered (digits 3-8 of its credit code) or
    where one of its employees' households is."""
    principal.require(Permission.VOUCHER_ISSUE)
    employer = _employer_of(principal)
    with ctx.unit_of_work() as uow:
        rows = read_model.active_enterprise_schemes(uow.session, principal.scope)
        regions = read_model.employee_household_regions(uow.session, employer)
    return _open_to(rows, regions | {employer[2:8]})


def enterprise_home(ctx: AppContext, principal: Principal) -> EnterpriseHome:
    """The portal's first page: schemes to request from, and the employees' vouchers."""
    principal.require(Permission.VOUCHER_READ)
    employer = _employer_of(principal)
    schemes = open_schemes(ctx, principal)
    with ctx.unit_of_work() as uow:
        counts = read_model.voucher_counts(uow.session, principal.scope)
    return EnterpriseHome(
        employer,
        schemes,
        counts,
        sum(c.vouchers for c in counts),
        sum(c.face_value_fen for c in counts),
    )


def employees_training(
    ctx: AppContext,
    principal: Principal,
    *,
    status: VoucherStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[TrainingRow]:
    """The employees holding enterprise vouchers, with their enrolment, attendance, completion
    and certificate, in issue order."""
    principal.require(Permission.ENROLMENT_READ)
    _employer_of(principal)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        found = read_model.employees_training(
            uow.session, principal.scope, status=status, after=cursor_id(cursor), limit=limit + 1
        )
    return page_of(found, limit, lambda row: row.voucher_id)


def _identity_key(resident_id: str) -> str:
    """The same person however the number was typed (spaces, lower-case x, full-width)."""
    try:
        return parse_resident_id(resident_id).number
    except DomainError:
        return resident_id.strip().upper()


def _outcome(code: str | None, reason: str | None) -> tuple[Outcome, tuple[str, ...]]:
    if code is None:
        return Outcome.ISSUED, ()
    if code == "not_eligible" and reason and NOT_ELIGIBLE_SEPARATOR in reason:
        rules = tuple(reason.split(NOT_ELIGIBLE_SEPARATOR, 1)[1].split("; "))
        if NOT_AN_EMPLOYEE in rules:
            # Nothing more about someone else's employee (their age, card, other vouchers)
            # is the enterprise's business.
            return Outcome.NOT_AN_EMPLOYEE, ()
        return Outcome.NOT_ELIGIBLE, rules
    simple = {
        "already_exists": Outcome.ALREADY_HOLDS,
        "quota_exhausted": Outcome.QUOTA_EXHAUSTED,
        "invalid_resident_id": Outcome.INVALID_ID,
        "not_found": Outcome.NOT_IN_REGISTRY,
    }
    return simple.get(code, Outcome.OTHER), ()


def request_vouchers(
    ctx: AppContext, principal: Principal, scheme_code: str, roster: Sequence[RosterLine]
) -> RosterReport:
    """Request ``scheme_code``'s vouchers for the roster's employees; one outcome per line.

    A person listed twice is requested once (later lines say which line lists them first).
    Safe to repeat: someone issued by an earlier upload is reported as already holding one.
    Raises (for the whole roster) when the scheme is unknown to the caller, not an enterprise
    scheme or not active, or the caller is not enterprise HR.
    """
    _employer_of(principal)
    first_line: dict[str, RosterLine] = {}
    unique: list[RosterLine] = []
    for entry in roster:
        key = _identity_key(entry.resident_id)
        if key in first_line:
            continue
        first_line[key] = entry
        unique.append(entry)
    answers = enterprise_issue_for(
        ctx, principal, scheme_code, None, [entry.resident_id for entry in unique]
    )
    by_line = {}
    for entry, answer in zip(unique, answers, strict=True):
        outcome, rules = _outcome(answer.code, answer.reason)
        masked = answer.masked_id if answer.masked_id != "-" else _masked(entry.resident_id)
        by_line[entry.line] = LineOutcome(
            entry.line,
            entry.name,
            masked,
            outcome,
            voucher_id=answer.voucher_id,
            rules=rules,
            detail=answer.reason or "",
        )
    lines = []
    for entry in roster:
        if entry.line in by_line:
            lines.append(by_line[entry.line])
            continue
        first = first_line[_identity_key(entry.resident_id)]
        lines.append(
            LineOutcome(
                entry.line,
                entry.name,
                by_line[first.line].masked_id,
                Outcome.DUPLICATE,
                first_line=first.line,
            )
        )
    return RosterReport(scheme_code, lines)


def _masked(text: str) -> str:
    # What HR typed, masked all the same: an invalid number may still be almost someone's.
    cleaned = text.strip()
    return mask_resident_id(cleaned) if cleaned else "-"
