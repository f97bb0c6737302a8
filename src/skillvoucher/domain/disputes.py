"""Disputes and objections: a holder contests a record of theirs, or anyone allowed objects to
a settlement batch on public notice. While one is open, the money it concerns does not move."""

from __future__ import annotations

from enum import StrEnum

from skillvoucher.domain.errors import IllegalTransition


class DisputeSubject(StrEnum):
    """What is contested, and which id names it."""

    ENROLMENT = "enrolment"  # enrolment id
    ATTENDANCE = "attendance"  # enrolment id: its attendance record as a whole
    COMPLETION = "completion"  # enrolment id: the completion (and certificate) of its voucher
    SETTLEMENT_LINE = "settlement_line"  # settlement line id
    BATCH = "batch"  # settlement batch id: an objection during its public notice


class DisputeStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class DisputeOutcome(StrEnum):
    UPHOLD = "uphold"
    DISMISS = "dismiss"


# The only moves: open → upheld, open → dismissed. A resolved dispute stays resolved.
RESOLUTIONS: dict[DisputeOutcome, DisputeStatus] = {
    DisputeOutcome.UPHOLD: DisputeStatus.UPHELD,
    DisputeOutcome.DISMISS: DisputeStatus.DISMISSED,
}

MAX_REASON_CHARS = 500
MAX_NOTE_CHARS = 500


def resolved_status(current: DisputeStatus, outcome: DisputeOutcome) -> DisputeStatus:
    if current is not DisputeStatus.OPEN:
        raise IllegalTransition(f"the dispute is already {current.value}")
    return RESOLUTIONS[outcome]
