"""Reviewing a settlement batch before approving it: the batch, its institution's standing,
every line with its evidence, and the risk flags that touch the institution or the holders.
Also the suspended institutions of the reviewer's scope (to reinstate them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from skillvoucher.application.context import AppContext
from skillvoucher.application.risk_flags import InstitutionStanding, risk_flags
from skillvoucher.application.scoped_settlement import BatchDetails, batch_details
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.risk import RiskFlag, SubjectType
from skillvoucher.domain.settlement import BatchStatus, needs_second_approval
from skillvoucher.persistence.read_models.settlement_review import (
    ReviewLine,
    batch_lines,
    suspended_institutions,
)

MAX_REVIEW_LINES = 500  # a reviewer reads lines one by one; larger batches are sampled in order
MAX_SUSPENDED_SHOWN = 200


@dataclass(frozen=True)
class BatchReview:
    details: BatchDetails
    institution: InstitutionStanding
    lines: list[ReviewLine]
    more_lines: bool  # the batch has more lines than are shown
    flags: list[RiskFlag]
    four_eyes: bool  # this batch needs two different approvers


def review_batch(ctx: AppContext, principal: Principal, batch_id: uuid.UUID) -> BatchReview:
    """Everything a reviewer reads about a batch within their scope (NotFound outside it)."""
    details = batch_details(ctx, principal, batch_id)
    with ctx.unit_of_work() as uow:
        batch = uow.settlement.batch_within(batch_id, principal.scope)
        assert batch is not None  # batch_details found it within the scope just now
        found = uow.settlement.institution_of(batch)
        institution = InstitutionStanding(
            found.id,
            found.credit_code,
            found.name,
            found.region_code,
            found.approval_status,
            found.suspended_at,
            found.suspended_by,
            found.suspension_reason,
        )
        lines = batch_lines(uow.session, batch_id, MAX_REVIEW_LINES + 1)
    flags = (
        _flags_touching(risk_flags(ctx, principal), institution.institution_id, lines)
        if principal.can(Permission.RISK_READ)
        else []
    )
    threshold = ctx.settings.settlement_second_approval_fen
    return BatchReview(
        details=details,
        institution=institution,
        lines=lines[:MAX_REVIEW_LINES],
        more_lines=len(lines) > MAX_REVIEW_LINES,
        flags=flags,
        four_eyes=needs_second_approval(details.summary.total_fen, threshold)
        or details.summary.status is BatchStatus.APPROVED_ONCE,
    )


def _flags_touching(
    flags: list[RiskFlag], institution_id: uuid.UUID, lines: list[ReviewLine]
) -> list[RiskFlag]:
    """Flags on the batch's institution, on one of its holders, or on a mobile number one of
    its holders shares."""
    people = {str(line.person_id) for line in lines}
    touching = []
    for flag in flags:
        if flag.subject_type is SubjectType.INSTITUTION:
            hit = flag.subject_id == str(institution_id)
        elif flag.subject_type is SubjectType.PERSON:
            hit = flag.subject_id in people
        elif flag.subject_type is SubjectType.MOBILE:
            named = flag.evidence.get("person_ids", [])
            hit = isinstance(named, list) and bool(people & set(named))
        else:
            hit = False
        if hit:
            touching.append(flag)
    return touching


def suspended_institutions_for(ctx: AppContext, principal: Principal) -> list[InstitutionStanding]:
    """The suspended institutions within the principal's scope, latest suspension first."""
    principal.require(Permission.RISK_READ)
    with ctx.unit_of_work() as uow:
        return [
            InstitutionStanding(
                i.id,
                i.credit_code,
                i.name,
                i.region_code,
                i.approval_status,
                i.suspended_at,
                i.suspended_by,
                i.suspension_reason,
            )
            for i in suspended_institutions(uow.session, principal.scope, MAX_SUSPENDED_SHOWN)
        ]
