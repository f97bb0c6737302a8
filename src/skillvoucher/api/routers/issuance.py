"""Issuance: a worker claims a voucher for themself, administrators push a scheme to everyone
eligible in their region, enterprise HR requests vouchers for their employees."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Acting, Allowed
from skillvoucher.application.issuance_access import claim_for, enterprise_issue_for, push_for
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.vouchers import VoucherStatus

router = APIRouter(prefix="/api/v1", tags=["issuance"])

MAX_ROSTER = 5000
"""Lines per enterprise request: each is its own transaction, and the answer is synchronous."""

SchemeCode = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")]


class IssuedOut(BaseModel):
    voucher_id: uuid.UUID
    scheme_code: str
    status: VoucherStatus = VoucherStatus.ISSUED
    value_fen: int
    valid_until: datetime
    credential: str = Field(description="The signed voucher code (what its QR code holds).")


class PushOut(BaseModel):
    issued: int
    eligible_left: int = Field(description="Eligible people still without a voucher.")
    quota_left: int


class RosterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enterprise_credit_code: str | None = Field(
        default=None,
        min_length=18,
        max_length=24,
        description="Required of administrators; enterprise HR may omit it (their own).",
    )
    resident_ids: list[Annotated[str, Field(min_length=1, max_length=24)]] = Field(
        min_length=1,
        max_length=MAX_ROSTER,
        description="The employees' resident ID numbers, one per roster line.",
    )


class RosterLineOut(BaseModel):
    line: int = Field(description="1-based position in `resident_ids`.")
    holder_id_masked: str
    voucher_id: uuid.UUID | None
    problem: str | None = Field(description="Why no voucher was issued; null when one was.")


class RosterOut(BaseModel):
    issued: int
    refused: int
    lines: list[RosterLineOut]


@router.post("/schemes/{scheme_code}/claims", response_model=IssuedOut, status_code=201)
def claim(
    acting: Acting,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_CLAIM)],
    scheme_code: SchemeCode,
) -> IssuedOut:
    """The signed-in worker applies for (application schemes) or claims (first-come schemes) a
    voucher for themself. One per person per scheme: a second claim answers 409
    `already_exists`; an ineligible worker 422 `not_eligible` with the reasons."""
    issued = claim_for(acting, caller, scheme_code)
    return IssuedOut(
        voucher_id=issued.voucher_id,
        scheme_code=issued.scheme_code,
        value_fen=issued.value_fen,
        valid_until=issued.valid_until,
        credential=issued.credential,
    )


@router.post("/schemes/{scheme_code}/push", response_model=PushOut)
def push(
    acting: Acting,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_ISSUE)],
    scheme_code: SchemeCode,
) -> PushOut:
    """Push-issue a push scheme of the caller's region to everyone eligible, then report the
    counts. Runs synchronously, in chunks of one transaction each: a big scheme can take a
    while, and a retry after a timeout resumes where it stopped (nobody gets two vouchers).
    A scheme outside the caller's region answers 404."""
    result = push_for(acting, caller, scheme_code)
    return PushOut(
        issued=result.issued, eligible_left=result.eligible_left, quota_left=result.quota_left
    )


@router.post("/schemes/{scheme_code}/enterprise-issuance", response_model=RosterOut)
def enterprise_issuance(
    acting: Acting,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_ISSUE)],
    scheme_code: SchemeCode,
    body: RosterRequest,
) -> RosterOut:
    """Issue an enterprise scheme's vouchers to the named employees of one enterprise: enterprise
    HR for their own employer only (naming another answers 403), administrators for any
    enterprise they name. Answers 200 with one outcome per roster line, issued or why not;
    each line is its own transaction, run synchronously."""
    outcomes = enterprise_issue_for(
        acting, caller, scheme_code, body.enterprise_credit_code, body.resident_ids
    )
    lines = [
        RosterLineOut(
            line=o.line, holder_id_masked=o.masked_id, voucher_id=o.voucher_id, problem=o.reason
        )
        for o in outcomes
    ]
    issued = sum(1 for o in outcomes if o.voucher_id is not None)
    return RosterOut(issued=issued, refused=len(outcomes) - issued, lines=lines)
