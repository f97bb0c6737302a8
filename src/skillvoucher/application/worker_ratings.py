"""A worker rates a course they completed, once: the figure other workers see beside the
institution's completion and certificate rates when they choose a course."""

from __future__ import annotations

import uuid

from skillvoucher.application.context import AppContext
from skillvoucher.application.worker_portal import holder_of
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import AlreadyExists, IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.regions import province_code
from skillvoucher.persistence.repositories.worker_ratings import (
    add_rating,
    has_rating,
    own_enrolment,
)

MAX_COMMENT_CHARS = 200


def rate_course(
    ctx: AppContext,
    principal: Principal,
    enrolment_id: uuid.UUID,
    score: int,
    comment: str | None = None,
) -> None:
    """Record the holder's rating (1 to 5) of a completed enrolment of theirs."""
    person_id = holder_of(principal)
    if not 1 <= score <= 5:
        raise InvalidInput("a rating is from 1 to 5")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"a comment has at most {MAX_COMMENT_CHARS} characters")
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        found = own_enrolment(uow.session, person_id, enrolment_id)
        if found is None:
            raise NotFound(f"enrolment {enrolment_id} is not known")
        enrolment, voucher = found
        if voucher.completed_at is None:
            raise IllegalTransition("only a completed course can be rated")
        if has_rating(uow.session, enrolment_id):
            raise AlreadyExists(f"enrolment {enrolment_id} is already rated")
        add_rating(
            uow.session,
            {
                "id": new_id(),
                "enrolment_id": enrolment_id,
                "course_id": enrolment.course_id,
                "institution_id": enrolment.institution_id,
                "person_id": person_id,
                "region_code": enrolment.region_code,
                "province_code": province_code(enrolment.region_code),
                "score": score,
                "comment": comment,
                "created_at": now,
            },
        )
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="course.rated",
            entity_type="enrolment",
            entity_id=enrolment_id,
            region_code=enrolment.region_code,
            payload={"score": score},
        )
        uow.commit()
