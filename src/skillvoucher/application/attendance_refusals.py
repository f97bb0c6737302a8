"""What remains of a refused attendance event: an audit event recorded in its own short
transaction, after the refused one rolled back, so an administrator can see an institution or a
device that keeps producing impossible check-ins (the risk rule
``repeated_impossible_attendance``).

The refused event itself is never stored. The audit event names the enrolment, the rule, the
institution, the device, the source and the claimed time; never the holder's ID number or name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from skillvoucher.application.context import AppContext
from skillvoucher.domain.attendance import REFUSED_ACTION, AttendanceFact
from skillvoucher.domain.errors import DomainError

REFUSED_ENTITY = "enrolment"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttendanceRefusal:
    """A refused event as it is kept: the rule it broke and where and when it claimed to be."""

    rule: str  # the domain error's code
    event: AttendanceFact
    region_code: str  # the voucher's, so the event lands in its province's audit chain


def refusal_payload(refusal: AttendanceRefusal) -> dict[str, str | None]:
    event = refusal.event
    return {
        "rule": refusal.rule,
        "institution_id": str(event.institution_id),
        "device_id": event.device_id,
        "source": event.source.value,
        "occurred_at": event.occurred_at.isoformat(),
    }


def record_refusal(ctx: AppContext, refusal: AttendanceRefusal) -> bool:
    """Record ``refusal`` as an audit event in a transaction of its own; whether it was.

    The caller is about to raise the refusal itself: a failure here (the database gone meanwhile)
    is logged, never raised, so the caller still learns why its event was refused."""
    try:
        with ctx.unit_of_work() as uow:
            uow.audit.record(
                at=ctx.clock(),
                actor=ctx.actor,
                action=REFUSED_ACTION,
                entity_type=REFUSED_ENTITY,
                entity_id=refusal.event.enrolment_id,
                region_code=refusal.region_code,
                payload=refusal_payload(refusal),
            )
            uow.commit()
    except (DomainError, sa.exc.SQLAlchemyError):
        log.warning(
            "could not record the refusal (%s) of an attendance event of enrolment %s",
            refusal.rule,
            refusal.event.enrolment_id,
            exc_info=True,
        )
        return False
    return True
