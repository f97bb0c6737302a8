"""Completions and skill certificates, recorded by the institution that trained the holder."""

from __future__ import annotations

import uuid
from typing import Annotated, Self

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field, model_validator

from skillvoucher.api.auth import Acting, Allowed
from skillvoucher.application.training_access import CompletionView, record_completion_as
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import SkillLevel

router = APIRouter(prefix="/api/v1", tags=["training"])


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_no: str | None = Field(None, min_length=4, max_length=40)
    certificate_level: SkillLevel | None = None

    @model_validator(mode="after")
    def certificate_whole(self) -> Self:
        if (self.certificate_no is None) != (self.certificate_level is None):
            raise ValueError("give the certificate number and its level together")
        return self


@router.post("/enrolments/{enrolment_id:uuid}/completion", response_model=CompletionView)
def post_completion(
    ctx: Acting,
    caller: Annotated[Principal, Allowed(Permission.COMPLETION_RECORD)],
    enrolment_id: uuid.UUID,
    body: Annotated[CompletionIn | None, Body()] = None,
) -> CompletionView:
    """Record that the caller's trainee finished the course, now; with a certificate number and
    level, the skill certificate too. A completed enrolment without a certificate can receive
    it later by posting again with the certificate."""
    given = body or CompletionIn(certificate_no=None, certificate_level=None)
    return record_completion_as(
        ctx, caller, enrolment_id, given.certificate_no, given.certificate_level
    )
