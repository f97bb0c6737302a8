"""Attendance events from an institution's check-in devices and online platforms, one at a time
or in bulk. Each event is recorded once: a re-sent event is acknowledged, not counted again."""

from __future__ import annotations

import uuid
from typing import Annotated, Self

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from skillvoucher.api.auth import Acting, Allowed
from skillvoucher.application.training_access import (
    MAX_EVENTS_PER_BATCH,
    AttendanceBatchReport,
    AttendanceEntry,
    RecordedAttendance,
    record_attendance_as,
    record_attendance_batch,
)
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.attendance import MAX_MINUTES_PER_EVENT, AttendanceSource

router = APIRouter(prefix="/api/v1", tags=["training"])


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrolment_id: uuid.UUID | None = Field(None, description="The enrolment; or give voucher_id.")
    voucher_id: uuid.UUID | None = Field(None, description="The voucher's live enrolment.")
    source: AttendanceSource
    occurred_at: AwareDatetime = Field(description="When it happened, with its offset.")
    minutes: int = Field(ge=1, le=MAX_MINUTES_PER_EVENT)
    device_id: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def one_enrolment(self) -> Self:
        if (self.enrolment_id is None) == (self.voucher_id is None):
            raise ValueError("give either enrolment_id or voucher_id")
        return self

    def entry(self) -> AttendanceEntry:
        return AttendanceEntry(
            source=self.source,
            occurred_at=self.occurred_at,
            minutes=self.minutes,
            enrolment_id=self.enrolment_id,
            voucher_id=self.voucher_id,
            device_id=self.device_id,
        )


class AttendanceBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[AttendanceIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


@router.post(
    "/attendance",
    status_code=201,
    response_model=RecordedAttendance,
    responses={200: {"model": RecordedAttendance, "description": "Recorded before; no change"}},
)
def post_attendance(
    ctx: Acting,
    caller: Annotated[Principal, Allowed(Permission.ATTENDANCE_RECORD)],
    body: AttendanceIn,
    response: Response,
) -> RecordedAttendance:
    """Record one attendance event for one of the caller's enrolments.

    201 when recorded; the same event sent again (same enrolment, source and time) answers 200
    with `recorded: false` and changes nothing.
    """
    recorded = record_attendance_as(ctx, caller, body.entry())
    if not recorded.recorded:
        response.status_code = 200
    return recorded


@router.post("/attendance/bulk", response_model=AttendanceBatchReport)
def post_attendance_bulk(
    ctx: Acting,
    caller: Annotated[Principal, Allowed(Permission.ATTENDANCE_RECORD)],
    body: AttendanceBatchIn,
) -> AttendanceBatchReport:
    """Record up to 1000 attendance events, each on its own, as an attendance file import does.

    A malformed event (a wrong type, an unknown field, minutes out of range, a time without
    offset) refuses the whole request with 422 and records nothing. An event refused for what it
    says (an enrolment not known to the caller, a voucher not in training, a time in the future)
    is reported by its index with a machine code, and the others are recorded. Sending the same
    batch again records nothing twice.
    """
    return record_attendance_batch(ctx, caller, [e.entry() for e in body.events])
