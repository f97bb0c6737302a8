"""Enrolments: a holder (or an institution, with the holder's consent code) binds a voucher to
a course; institutions and administrators cancel; everyone lists the enrolments in their scope."""

from __future__ import annotations

import uuid
from typing import Annotated, Self

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from skillvoucher.api.auth import Acting, Allowed
from skillvoucher.application.enrolment_access import (
    CourseChoice,
    EnrolmentView,
    cancel_as,
    enrol_as,
    list_enrolments,
)
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.vouchers import EnrolmentStatus

router = APIRouter(prefix="/api/v1", tags=["enrolments"])

CREDIT_CODE = r"^[0-9A-HJ-NP-RT-UW-Y]{18}$"


class EnrolRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voucher_id: uuid.UUID
    course_id: uuid.UUID | None = Field(None, description="The course; or give course_code.")
    institution_code: str | None = Field(
        None,
        pattern=CREDIT_CODE,
        description="The institution's credit code; an institution's own when left out.",
    )
    course_code: str | None = Field(None, min_length=1, max_length=40)
    consent_code: str = Field(
        min_length=4, max_length=12, description="The one-time code from the holder's e-SSC app."
    )

    @model_validator(mode="after")
    def one_way_to_name_the_course(self) -> Self:
        if (self.course_id is None) == (self.course_code is None):
            raise ValueError("give either course_id or course_code")
        if self.course_id is not None and self.institution_code is not None:
            raise ValueError("institution_code goes with course_code, not with course_id")
        return self


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class EnrolmentPageOut(BaseModel):
    # The application's own view, served as it is: pydantic reads stdlib dataclasses.
    items: list[EnrolmentView]
    next_cursor: str | None


@router.post("/enrolments", status_code=201, response_model=EnrolmentView)
def create_enrolment(
    ctx: Acting,
    caller: Annotated[Principal, Allowed(Permission.ENROLMENT_CREATE)],
    body: EnrolRequest,
) -> EnrolmentView:
    """Enrol a voucher on a course with the holder's one-time consent code.

    A worker enrols their own voucher on any course of the catalogue; an institution (staff or
    its system's API key) enrols a consenting holder on one of its own courses. A wrong, expired
    or used consent code answers 403 `consent_invalid`; a voucher enrolled already, 409.
    """
    return enrol_as(
        ctx,
        caller,
        body.voucher_id,
        CourseChoice(body.course_id, body.institution_code, body.course_code),
        body.consent_code,
    )


@router.post("/enrolments/{enrolment_id:uuid}/cancel", response_model=EnrolmentView)
def cancel_enrolment(
    ctx: Acting,
    caller: Annotated[Principal, Allowed(Permission.ENROLMENT_CANCEL)],
    enrolment_id: uuid.UUID,
    body: CancelRequest,
) -> EnrolmentView:
    """Cancel an enrolment before training starts (an institution its own, an administrator one
    in their region); the voucher can be used again while it is valid."""
    return cancel_as(ctx, caller, enrolment_id, body.reason)


@router.get("/enrolments", response_model=EnrolmentPageOut)
def get_enrolments(
    ctx: Acting,
    caller: Annotated[Principal, Allowed(Permission.ENROLMENT_READ)],
    status: EnrolmentStatus | None = None,
    course_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> EnrolmentPageOut:
    """The enrolments the caller may see, oldest first (a worker's own, an institution's own,
    an administrator's region); follow `next_cursor` for more."""
    page = list_enrolments(
        ctx, caller, status=status, course_id=course_id, cursor=cursor, limit=limit
    )
    return EnrolmentPageOut(items=page.items, next_cursor=page.next_cursor)
